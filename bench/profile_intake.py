"""Where an intake request's time goes: each step of the webhook path, timed in-process over
3,000 signed webhooks against a real Redis (no HTTP, no gunicorn).

    .venv/bin/python -m bench.profile_intake
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.datastructures import Headers

from bench.harness import URL_TOKEN, free_port
from bench.intake import SECRET, webhook
from gateway.config import config_from_dict
from gateway.intake import record
from gateway.logs import configure
from gateway.redis_server import RedisServer, connect
from gateway.sources import SOURCES, Inbound
from gateway.store import Store

N = 3000


def main() -> None:
    with open("/dev/null", "w") as sink:
        configure(stream=sink)
        server = RedisServer(Path(tempfile.mkdtemp(prefix="leadgate-profile-")),
                             port=free_port())
        server.start()
        try:
            report(server.url)
        finally:
            server.stop()


def report(redis_url: str) -> None:
    config = config_from_dict({
        "server": {}, "mega": {"base_url": "http://127.0.0.1:1"},
        "customers": {"c0": {"customer_id": "11111111-1111-4111-8111-111111111111",
                             "token": "mega_" + "a" * 64}},
        "routes": {"r0": {"customer": "c0", "source": "generic", "url_token": URL_TOKEN,
                          "event_id": "id", "hmac_secret": SECRET}}}, env={"REDIS_URL": redis_url})
    spec, source, customer = config.routes["r0"], SOURCES["generic"], config.customers["c0"]
    store = Store(connect(redis_url))
    make = webhook(f"prof{int(time.time())}", 1)
    inbounds = [Inbound("POST", Headers(h), {}, b, "application/json", None, time.time())
                for _, b, h in (make(0, i) for i in range(N))]
    drafts = [source.parse(i, spec.settings)[0] for i in inbounds]
    records = [record(spec, source, d, time.time()) for d in drafts]
    log = logging.getLogger("leadgate.intake")
    steps: list[tuple[str, Callable[[int], Any]]] = [
        ("HMAC check", lambda i: source.authenticate(inbounds[i], spec.settings)),
        ("JSON parse + field recognition", lambda i: source.parse(inbounds[i], spec.settings)),
        ("normalize + validate the MEGA row", lambda i: record(spec, source, drafts[i], 0.0)),
        ("Redis round trip (Lua ingest)", lambda i: store.ingest(customer, [records[i]], 60)),
        ("JSON log line", lambda i: log.info("webhook", extra={
            "route": "r0", "customer": "c0", "events": [records[i]["id"]], "status": 202,
            "outcome": "accepted", "duration_ms": 1.0})),
        ("metrics", lambda i: (store.metrics.inc("leadgate_webhooks", route="r0",
                                                 outcome="accepted"),
                               store.metrics.observe("leadgate_intake_seconds", 0.002,
                                                     route="r0"))),
    ]
    print(f"intake steps, µs per webhook (mean of {N:,})")
    total = 0.0
    for name, step in steps:
        started = time.perf_counter()
        for i in range(N):
            step(i)
        micros = (time.perf_counter() - started) / N * 1e6
        total += micros
        print(f"  {name:36} {micros:7.1f}")
    print(f"  {'total':36} {total:7.1f}")
    started = time.perf_counter()
    for _ in range(N):
        store.redis.ping()
    ping = (time.perf_counter() - started) / N * 1e6
    print(f"  (a bare Redis PING round trip here:  {ping:7.1f})")
    store.redis.close()


if __name__ == "__main__":
    main()
