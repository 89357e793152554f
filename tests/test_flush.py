"""The flush against a slow, odd or broken MEGA: one create per lead, nothing loops for ever."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import redis

from gateway.domain import policy
from gateway.domain.records import unpacked
from gateway.web.app import create_app
from tests.conftest import ACME_ID, URL_TOKEN, Sim, build
from workers.context import WorkerContext, bind, build_context
from workers.flush import Flush

FORM_URL = f"/hooks/acme-form/{URL_TOKEN}"
ADMIN = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}


def post(client: Any, name: str) -> str:
    response = client.post(FORM_URL, json={"name": name})
    assert response.status_code == 202
    return response.get_json()["events"][0]  # type: ignore[no-any-return]


def flush_loop(ctx: WorkerContext, stop: threading.Event) -> None:
    """A worker without RQ: claim due customers and run their flushes, until stopped."""
    lease_s = policy.lease_s(ctx.config.mega.timeout_s)
    while not stop.is_set():
        token = uuid.uuid4().hex
        for name in ctx.store.claim(token, lease_s=lease_s, limit=5):
            Flush(ctx, ctx.config.customers[name], token).run()
        stop.wait(0.02)


def test_an_answer_trickling_in_past_the_lease_is_abandoned_not_raced(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        megasim: Sim) -> None:
    config_dict["mega"]["timeout_s"] = 1
    config = build(config_dict, redis_server.url)
    lease_s = policy.lease_s(1)
    megasim.faults(script=["trickle"], trickle_ms=int((lease_s + 1) * 1000))
    client = create_app(config).test_client()
    stop = threading.Event()
    contexts = [build_context(config) for _ in range(2)]
    workers = [threading.Thread(target=flush_loop, args=(ctx, stop)) for ctx in contexts]
    started = time.monotonic()
    post(client, "First")
    for worker in workers:
        worker.start()
    try:
        time.sleep(0.5)                                     # the first answer is trickling
        post(client, "Second")
        post(client, "Third")
        while len(megasim.leads(ACME_ID)) < 3 and time.monotonic() - started < lease_s:
            time.sleep(0.1)
        delivered_s = time.monotonic() - started
        while client.get("/v1/customers/acme", headers=ADMIN).get_json()["state"] != "idle":
            assert time.monotonic() - started < 30
            time.sleep(0.1)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
        for ctx in contexts:
            ctx.mega.close()
            for fetcher in ctx.fetchers.values():
                fetcher.close()
    assert delivered_s < lease_s                     # nobody waited for the whole trickle
    names = sorted(lead["contact_name"] for lead in megasim.leads(ACME_ID))
    assert names == ["First", "Second", "Third"]
    assert [r for r in megasim.requests() if r["status"] == "409"] == []
    summary = client.get("/v1/customers/acme", headers=ADMIN).get_json()
    assert (summary["pending"], summary["in_flight"], summary["dead"]) == (0, 0, 0)


def test_an_html_2xx_after_commit_is_retried_with_the_same_key_and_delivered_once(
        client: Any, drain: Any, megasim: Sim, redis_client: redis.Redis) -> None:
    megasim.faults(script=["html_after_commit"])
    eid = post(client, "Html")
    drain(skip_waits=True)
    assert len(megasim.leads(ACME_ID)) == 1
    requests = megasim.requests()
    assert [r["status"] for r in requests] == ["201", "201"]
    assert len({(r["idempotency_key"], r["body_sha256"]) for r in requests}) == 1
    record = client.get(f"/v1/events/{eid}", headers=ADMIN).get_json()
    assert record["status"] == "delivered" and record["failed_attempts"] == 1
    assert record["mega_calls"] == 2 and "attempts" not in record


def clocked(config_dict: dict[str, Any], redis_server: Any, drain_factory: Any,
            hours: float) -> tuple[Any, list[float]]:
    """A drainer whose clock the test moves (now[0], seconds)."""
    config_dict["mega"]["max_age_hours"] = hours
    now = [time.time()]
    ctx_config = build(config_dict, redis_server.url)
    drainer = drain_factory(ctx_config)
    ctx = build_context(ctx_config, clock=lambda: now[0])
    drainer.ctx.mega.close()
    for fetcher in drainer.ctx.fetchers.values():
        fetcher.close()
    drainer.__init__(ctx)
    bind(ctx)                                   # the context flush jobs use
    return drainer, now


def test_a_flush_that_raises_every_time_becomes_a_dead_letter_at_max_age(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        megasim: Sim, drain_factory: Any) -> None:
    drainer, now = clocked(config_dict, redis_server, drain_factory, hours=2)
    k = drainer.ctx.store.keys
    redis_client.hset(k.event("evt_1"), mapping={"id": "evt_1", "status": "in_flight",
                                                  "customer": "acme"})
    redis_client.hset(k.batch("acme"), mapping={     # an endpoint the client has no path for
        "ids": "evt_1", "created": int(now[0] * 1000), "attempts": 0, "endpoint": "bogus",
        "key": "k", "body": "{}"})
    redis_client.zadd(k.due, {"acme": 0})
    for _ in range(5):
        drainer.skip_waits()
        drainer.step()
        now[0] += 3600
        if drainer.idle():
            break
    record = unpacked(redis_client.hgetall(k.event("evt_1")))
    assert record["status"] == "dead" and record["dead_reason"] == "expired"
    assert int(record["attempts"]) >= 2 and "bogus" in record["error"]
    assert drainer.idle() and megasim.requests() == []


def test_a_batch_record_without_ids_is_dropped_and_the_buffer_goes_on(
        client: Any, drain: Any, megasim: Sim, redis_client: redis.Redis) -> None:
    post(client, "Behind")
    redis_client.hset("leadgate:batch:acme", mapping={"created": "x", "body": "{}"})
    drain()
    assert [lead["contact_name"] for lead in megasim.leads(ACME_ID)] == ["Behind"]


def test_a_frozen_batch_is_never_resent_past_key_retention(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        megasim: Sim, drain_factory: Any) -> None:
    config_dict["mega"]["key_retention_hours"] = 48
    drainer, now = clocked(config_dict, redis_server, drain_factory, hours=24)
    client = create_app(build(config_dict, redis_server.url)).test_client()
    megasim.faults(script=["503"])
    eid = post(client, "Late")
    drainer.skip_waits()
    drainer.step()                                    # frozen and sent once: a 503
    now[0] += 49 * 3600                               # held (say, credentials) past retention
    drainer(skip_waits=True)
    record = client.get(f"/v1/events/{eid}", headers=ADMIN).get_json()
    assert record["status"] == "dead" and record["dead_reason"] == "key_expired"
    assert [r["status"] for r in megasim.requests()] == ["503"]
