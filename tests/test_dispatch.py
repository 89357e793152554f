"""The dispatcher (workers/dispatch.py): one flush job per due customer, under its lease."""

from __future__ import annotations

from typing import Any

import redis
from rq import Queue

from gateway.config import Config
from workers.context import build_context
from workers.dispatch import Dispatcher


def test_each_due_customer_gets_one_flush_job(config: Config,
                                              redis_client: redis.Redis) -> None:
    ctx = build_context(config)
    try:
        queue = Queue("leadgate-test", connection=ctx.redis)
        dispatcher = Dispatcher(ctx, queue)
        redis_client.zadd("leadgate:due", {"acme": 0, "globex": 0})
        assert dispatcher.dispatch_once() == 2
        jobs: list[Any] = queue.get_jobs()
        assert sorted(j.args[0] for j in jobs) == ["acme", "globex"]
        assert all(j.func_name == "workers.jobs.flush" and j.id.startswith("flush-")
                   for j in jobs)
        token = jobs[0].args[1]
        assert {j.args[1] for j in jobs} == {token}             # one token per pass
        assert redis_client.zscore("leadgate:leases", "acme") is not None
        assert dispatcher.dispatch_once() == 0                   # leased: not twice
    finally:
        ctx.close()
