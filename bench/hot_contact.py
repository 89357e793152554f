"""One contact seen many times: what it costs every webhook and a console search for it.

A contact with N earlier events that day (a bot posting one email to a public form), stored
through the intake's own INGEST (no HTTP); then, in alternating blocks, webhooks of that
contact and of fresh contacts, by Redis's own time per INGEST (INFO commandstats: the script's
µs inside Redis, which the rest of the machine does not blur); then a console search for the
contact (POST /console/search and the events page it leads to, in the web app, no network);
and the Redis slowlog above 10 ms over all of it after the seeding.

    .venv/bin/python -m bench.hot_contact [--earlier 100000] [--webhooks 1000]

Targets (DESIGN.md): the hot contact's INGEST within 1.5x a fresh one's; the search under
300 ms; no Redis call over 10 ms.
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from bench.harness import free_port
from gateway.config import Config, config_from_dict
from gateway.domain.leads import draft_event
from gateway.domain.sources import SOURCES
from gateway.domain.sources.base import Draft
from gateway.local.redis_server import RedisServer
from gateway.store.index import Index
from gateway.store.store import Store
from gateway.web.app import create_app

TOKEN = "bench-admin-token-0123456789abcdef"
CONFIG = {"server": {"admin_token": TOKEN},
          "customers": {"c": {"customer_id": "11111111-1111-4111-8111-111111111111",
                              "token": "t", "linger_ms": 60_000}},
          "routes": {"r": {"customer": "c", "source": "generic",
                           "url_token": "bench-url-token-0123456789"}}}
HOT = "bot@example.com"
SEED_BATCH = 50                  # records per INGEST while seeding (the old index: O(N) each)
BLOCK = 100                      # webhooks per measured block
SLOW_US = 10_000                 # slowlog threshold: 10 ms


def records(config: Config, tag: str, n: int, email: str | None) -> list[dict[str, str]]:
    """n webhooks' records as the intake builds them; one email for all, or one each."""
    route, now = config.routes["r"], time.time()
    return [draft_event(route, SOURCES["generic"], Draft(
        event_id=f"{tag}{i}", lead={"contact_name": f"Lead {i}",
                                    "contact_email": email or f"{tag}{i}@example.com"},
        fields={}, used=set()), now).to_fields() for i in range(n)]


def seed(store: Store, config: Config, n: int) -> None:
    """n earlier events of the hot contact."""
    customer = config.customers["c"]
    for start in range(0, n, SEED_BATCH):
        batch = records(config, f"seed{start}-", min(SEED_BATCH, n - start), HOT)
        store.ingest(customer, batch, config.dedup_ttl_s)


def ingest_us(client: redis.Redis, store: Store, config: Config, webhooks: int
              ) -> tuple[float, float]:
    """Redis µs per INGEST, fresh contacts and the hot one, in alternating blocks."""
    customer, spent = config.customers["c"], {"fresh": [0.0, 0], "hot": [0.0, 0]}
    for start in range(0, webhooks, BLOCK):
        for mode in spent:
            batch = records(config, f"{mode}{start}-", BLOCK, HOT if mode == "hot" else None)
            client.config_resetstat()
            for rec in batch:
                store.ingest(customer, [rec], config.dedup_ttl_s)
            stat = client.info("commandstats")["cmdstat_evalsha"]
            spent[mode][0] += stat["usec"]
            spent[mode][1] += stat["calls"]
    fresh, hot = (usec / calls for usec, calls in spent.values())
    return fresh, hot


def search_ms(config: Config, rounds: int = 5) -> tuple[float, int]:
    """The console search for the hot contact: median ms of POST + the page; rows shown."""
    web = create_app(config).test_client()
    form = web.get("/console/login").data
    web.post("/console/login", data={"token": TOKEN, "csrf": csrf(form)})
    times, rows = [], 0
    for _ in range(rounds):
        token = csrf(web.get("/console/events?status=none").data)
        started = time.perf_counter()
        answer = web.post("/console/search", data={"csrf": token, "q": HOT})
        page = web.get(answer.location).data
        times.append((time.perf_counter() - started) * 1000)
        rows = len(re.findall(rb'class="event-link"', page))
    return statistics.median(times), rows


def csrf(page: bytes) -> str:
    found = re.search(rb'name="csrf" value="([^"]+)"', page)
    assert found, page[:300]
    return found.group(1).decode()


def slow_calls(client: redis.Redis) -> list[dict[str, Any]]:
    """The slowlog's entries (calls over SLOW_US)."""
    return [e for e in client.slowlog_get(128) if e["duration"] > SLOW_US]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--earlier", type=int, default=100_000)
    parser.add_argument("--webhooks", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp), port=free_port(), persistent=False)
        url = server.start()
        client = redis.Redis.from_url(url)
        config = config_from_dict(CONFIG, env={"REDIS_URL": url})
        try:
            run(client, config, args.earlier, args.webhooks)
        finally:
            client.close()
            server.stop()


def run(client: redis.Redis, config: Config, earlier: int, webhooks: int) -> None:
    """Seed, then measure and print the three figures."""
    store = Store(client, index=Index.from_config(config))
    started = time.perf_counter()
    seed(store, config, earlier)
    seeded_s = time.perf_counter() - started
    client.config_set("slowlog-log-slower-than", SLOW_US)
    client.slowlog_reset()
    fresh, hot = ingest_us(client, store, config, webhooks)
    took, rows = search_ms(config)
    slow = slow_calls(client)
    print(f"a contact with {earlier:,} earlier events that day (seeded in {seeded_s:.1f} s); "
          f"{webhooks:,} webhooks each, hot and fresh, alternating")
    print(f"Redis µs per INGEST: fresh contact {fresh:.1f}, hot contact {hot:.1f}: "
          f"{hot / fresh:.2f}x (target ≤ 1.5x)")
    print(f"console search for the hot contact: {took:.0f} ms (median of 5; {rows} rows shown; "
          "target < 300 ms)")
    worst = max((e["duration"] for e in slow), default=0) / 1000
    names = "".join(f"; {e['command'][:60]!r}" for e in slow[:3])
    print(f"slowlog over {SLOW_US // 1000} ms: {len(slow)} calls (longest {worst:.1f} ms; "
          f"target 0){names}")


if __name__ == "__main__":
    main()
