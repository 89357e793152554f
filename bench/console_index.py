"""What the console's index costs the intake: Redis memory per event and time per INGEST, with
and without the events-by-time and contact index (same records, same Lua, no HTTP).

    .venv/bin/python -m bench.console_index [--events 20000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import redis

from bench.harness import free_port
from gateway.config import Config, config_from_dict
from gateway.domain.leads import draft_event
from gateway.domain.sources import SOURCES
from gateway.domain.sources.base import Draft
from gateway.local.redis_server import RedisServer
from gateway.store.index import Index
from gateway.store.keys import Keys
from gateway.store.store import Store

CONFIG = {"server": {"admin_token": "bench-admin-token-0123456789abcdef"},
          "customers": {"c": {"customer_id": "11111111-1111-4111-8111-111111111111",
                              "token": "t", "linger_ms": 60_000}},
          "routes": {"r": {"customer": "c", "source": "generic",
                           "url_token": "bench-url-token-0123456789"}}}


def records(config: Config, start: int, n: int) -> list[dict[str, str]]:
    """n webhooks' records as the intake builds them, each lead with an email and a phone."""
    route = config.routes["r"]
    return [draft_event(route, SOURCES["generic"], Draft(
        event_id=f"e{i}", lead={"contact_name": f"Lead {i}",
                                "contact_email": f"lead{i}@example.com",
                                "contact_phone": f"+1206555{i % 10_000:04d}"},
        fields={}, used=set()), time.time()).to_fields() for i in range(start, start + n)]


def memory_per_event(client: redis.Redis, config: Config, events: int, indexed: bool
                     ) -> tuple[float, float]:
    """Bytes of Redis memory per stored event, and Redis's own µs per INGEST (commandstats:
    the script's time inside Redis, which the rest of the machine does not blur)."""
    store = Store(client, index=Index.from_config(config) if indexed else None)
    client.execute_command("FLUSHALL", "SYNC")      # Valkey frees in the background otherwise
    client.config_resetstat()
    before = client.info("memory")["used_memory"]
    for rec in records(config, 0, events):
        store.ingest(config.customers["c"], [rec], config.dedup_ttl_s)
    used = (client.info("memory")["used_memory"] - before) / events
    return used, client.info("commandstats")["cmdstat_evalsha"]["usec_per_call"]


def micros_per_ingest(client: redis.Redis, config: Config, events: int) -> tuple[float, float]:
    """Median µs per ingest without and with the index, in alternating blocks of 500 so that
    both meet the same load from the rest of the machine."""
    client.flushall()
    stores = [Store(client, keys=Keys("plain")),
              Store(client, keys=Keys("indexed"), index=Index.from_config(config, Keys("indexed")))]
    blocks: list[list[float]] = [[], []]
    for start in range(0, events, 500):
        for mode, store in enumerate(stores):
            batch = records(config, start, 500)
            started = time.perf_counter()
            for rec in batch:
                store.ingest(config.customers["c"], [rec], config.dedup_ttl_s)
            blocks[mode].append((time.perf_counter() - started) / 500 * 1e6)
    plain, indexed = (statistics.median(b) for b in blocks)
    return plain, indexed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp), port=free_port(), persistent=False)
        client = redis.Redis.from_url(server.start())
        config = config_from_dict(CONFIG, env={})
        try:
            sizes = [memory_per_event(client, config, args.events, flag) for flag in (False, True)]
            times = micros_per_ingest(client, config, args.events)
        finally:
            client.close()
            server.stop()
    print(f"{args.events} webhooks, one INGEST each (email and phone on every lead)")
    print(f"{'':18} {'µs per ingest (median)':>23} {'µs inside Redis':>16} "
          f"{'bytes per event':>16}")
    for name, micros, (size, inside) in zip(("without the index", "with the index"), times,
                                            sizes, strict=True):
        print(f"{name:18} {micros:23.1f} {inside:16.1f} {size:16.0f}")


if __name__ == "__main__":
    main()
