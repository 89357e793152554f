"""Redis bytes per lead: N leads of seven fields posted to a generic route over HTTP (web,
workers and megasim each their own process), delivered; then compacted as the workers do once
`server.record_retention_hours` have passed (here at once), by Redis's own figures:
`used_memory` before and after, and `MEMORY USAGE` of every key, by key kind.

    .venv/bin/python -m bench.footprint [--leads 3000]

Then how many leads a day a 25, 50 and 100 MB Redis holds at steady state with the defaults:
each lead keeps its full record for record_retention_hours, then its tombstone (and index
entries) until dedup_ttl_days.
"""

from __future__ import annotations

import argparse
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import redis

from bench.harness import Stack
from gateway import defaults
from gateway.store.connection import connect
from gateway.store.store import Store

PLANS_MB = (25, 50, 100)


def body(run: str, i: int) -> bytes:
    """The seven-field lead a web form posts (no id: the route keys it by a hash of the body)."""
    return httpx.Request("POST", "/", json={
        "name": f"Footprint Lead {i}", "email": f"lead{run}{i}@example.com",
        "phone": f"+1206555{i % 10_000:04d}", "budget": "$5k-$10k", "utm_source": "google",
        "utm_campaign": "spring-sale", "message": "Please call me back after 5pm about a quote.",
    }).read()


def post_all(stack: Stack, leads: int) -> None:
    run = uuid.uuid4().hex[:6]

    def post(chunk: range) -> None:
        with httpx.Client(timeout=30) as client:
            for i in chunk:
                answer = client.post(stack.hook(0), content=body(run, i),
                                     headers={"Content-Type": "application/json"})
                answer.raise_for_status()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(post, [range(w, leads, 4) for w in range(4)]))


def by_kind(client: redis.Redis) -> Counter[str]:
    """MEMORY USAGE of every key, summed by its kind (the name's second part)."""
    sizes: Counter[str] = Counter()
    for key in client.scan_iter(count=1000):
        parts = key.decode().split(":")
        sizes[parts[1] if len(parts) > 1 else parts[0]] += client.memory_usage(key, samples=0) or 0
    return sizes


def wait_delivered(stack: Stack, client: redis.Redis, leads: int) -> None:
    started = time.monotonic()
    while sum(stack.sim("/_megasim/stats")["leads"].values()) < leads \
            or int(client.hget("leadgate:customer:c0", "delivered") or 0) < leads:
        time.sleep(0.5)
        if time.monotonic() - started > 600:
            raise SystemExit("the leads were not delivered in 10 minutes")


def compact_all(client: redis.Redis) -> bool:
    """Compact every terminal lead now, as the workers do once its retention has passed."""
    store = Store(client)
    if not hasattr(store, "compact"):       # code from before compaction
        return False
    while store.compact(retention_ms=0, limit=1000):
        pass
    store.close()
    return True


def report(title: str, used: float, kinds: Counter[str], leads: int) -> None:
    print(f"{title}: {used / leads:,.0f} B per lead (used_memory); MEMORY USAGE by key kind, "
          "B per lead:")
    for kind, size in kinds.most_common():
        print(f"  {kind:<12} {size / leads:8,.0f}")


def steady_state(full: float, compacted: float | None) -> list[tuple[int, float]]:
    """Leads a day each plan holds: full records for the retention, tombstones after."""
    ttl_days = defaults.DEDUP_TTL_DAYS
    full_days = getattr(defaults, "RECORD_RETENTION_HOURS", ttl_days * 24) / 24
    per_day = full * min(full_days, ttl_days) + (compacted or full) * max(0, ttl_days - full_days)
    print(f"steady state (dedup_ttl_days={ttl_days:g}, full records for {full_days:g} days): "
          f"leads/day = plan bytes / ({full:,.0f} B x {min(full_days, ttl_days):g} d + "
          f"{compacted or full:,.0f} B x {max(0, ttl_days - full_days):g} d) "
          f"= plan / {per_day:,.0f} B")
    return [(mb, mb * 1_000_000 / per_day) for mb in PLANS_MB]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=3000)
    args = parser.parse_args()
    with Stack(customers=1, workers=1, event_id="") as stack:
        client = connect(stack.redis.url)
        before = client.info("memory")["used_memory"]
        empty = by_kind(client)
        post_all(stack, args.leads)
        wait_delivered(stack, client, args.leads)
        for name in list(stack.procs):
            if name.startswith("worker"):
                stack.kill(name)
        delivered = client.info("memory")["used_memory"] - before
        report(f"{args.leads} delivered", delivered, by_kind(client) - empty, args.leads)
        compacted: float | None = None
        client.config_resetstat()
        if compact_all(client):
            compacted = client.info("memory")["used_memory"] - before
            report(f"{args.leads} compacted", compacted, by_kind(client) - empty, args.leads)
            spent = client.info("commandstats")["cmdstat_evalsha"]["usec"]
            print(f"compaction: {spent / args.leads:.1f} µs inside Redis per lead")
        stored = sum(stack.sim("/_megasim/stats")["leads"].values())
        print(f"MEGA holds {stored} leads")
        plans = steady_state(delivered / args.leads,
                             compacted / args.leads if compacted is not None else None)
        print(f"{'Redis plan':>10} {'leads/day':>10}")
        for mb, per_day in plans:
            print(f"{mb:>7} MB {per_day:>10,.0f}")
        client.close()


if __name__ == "__main__":
    main()
