"""Where an intake request's time goes: each step of the webhook path, timed in-process over
signed webhooks against a real Redis (no HTTP, no gunicorn): 5 rounds of 2,000 webhooks, each
step's median round reported, so that a burst of other work on the machine counts once.

    .venv/bin/python -m bench.profile_intake
"""

from __future__ import annotations

import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from werkzeug.datastructures import Headers

from bench.harness import URL_TOKEN, free_port
from bench.intake import SECRET, webhook
from gateway.config import config_from_dict
from gateway.domain.leads import draft_event
from gateway.domain.sources import SOURCES, Inbound
from gateway.ingest import ingest
from gateway.local.redis_server import RedisServer
from gateway.logs import configure
from gateway.store.connection import connect
from gateway.store.store import Store

N = 2000                      # webhooks per round
ROUNDS = 5


def main() -> None:
    with open("/dev/null", "w") as sink, \
            tempfile.TemporaryDirectory(prefix="leadgate-profile-") as data:
        configure(stream=sink)
        server = RedisServer(Path(data), port=free_port())
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
    client = connect(redis_url)
    store = Store(client)
    make = webhook(f"prof{int(time.time())}", 1)
    inbounds = [Inbound("POST", Headers(h), {}, b, "application/json", None, time.time())
                for _, b, h in (make(0, i) for i in range(N * ROUNDS))]
    drafts = [source.parse(i, spec.settings)[0] for i in inbounds]
    records = [draft_event(spec, source, d, time.time()).to_fields() for d in drafts]
    again = webhook(f"path{int(time.time())}", 1)       # other ids: new events, as the above
    fresh = [source.parse(Inbound("POST", Headers(h), {}, b, "application/json", None,
                                  time.time()), spec.settings)[0]
             for _, b, h in (again(0, i) for i in range(N * ROUNDS))]
    log = logging.getLogger("leadgate.intake")
    steps: list[tuple[str, Callable[[int], Any]]] = [
        ("HMAC check", lambda i: source.authenticate(inbounds[i], spec.settings)),
        ("JSON parse + field recognition", lambda i: source.parse(inbounds[i], spec.settings)),
        ("normalize + validate the MEGA row", lambda i: draft_event(spec, source, drafts[i], 0.0)),
        ("Redis round trip (Lua ingest)", lambda i: store.ingest(customer, [records[i]], 60)),
        ("(the ingest path: the two steps above as the view calls them)",
         lambda i: ingest(store, spec, [fresh[i]], 0.0, source=source, customer=customer,
                          ttl_s=60)),
        ("JSON log line", lambda i: log.info("webhook", extra={
            "route": "r0", "customer": "c0", "events": [records[i]["id"]], "status": 202,
            "outcome": "accepted", "duration_ms": 1.0})),
        ("metrics", lambda i: (store.metrics.inc("leadgate_webhooks", route="r0",
                                                 outcome="accepted"),
                               store.metrics.observe("leadgate_intake_seconds", 0.002,
                                                     route="r0"))),
    ]
    steps.append(("(a bare Redis PING round trip, for scale)", lambda i: client.ping()))
    wall: dict[str, list[float]] = {name: [] for name, _ in steps}
    cpu: dict[str, list[float]] = {name: [] for name, _ in steps}
    for r in range(ROUNDS):
        for name, step in steps:
            started, used = time.perf_counter(), time.process_time()
            for i in range(r * N, (r + 1) * N):
                step(i)
            wall[name].append((time.perf_counter() - started) / N * 1e6)
            cpu[name].append((time.process_time() - used) / N * 1e6)
    print(f"intake steps, µs per webhook (median of {ROUNDS} rounds of {N:,}); cpu: this "
          "process's CPU time, which other work on the machine does not inflate")
    print(f"  {'':42} {'wall':>7} {'cpu':>7}")
    totals = [0.0, 0.0]
    for name, _ in steps:
        row = statistics.median(wall[name]), statistics.median(cpu[name])
        if not name.startswith("("):
            totals = [totals[0] + row[0], totals[1] + row[1]]
        print(f"  {name:42} {row[0]:7.1f} {row[1]:7.1f}")
    print(f"  {'total (without the PING)':42} {totals[0]:7.1f} {totals[1]:7.1f}")
    store.close()
    client.close()


if __name__ == "__main__":
    main()
