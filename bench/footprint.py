"""Redis bytes per lead: N leads of seven fields posted to a generic route over HTTP (web,
workers and megasim each their own process), delivered; then compacted as the workers do once
`server.record_retention_hours` have passed (here at once), by Redis's own figures:
`used_memory` before and after, and `MEMORY USAGE` of every key, by key kind.

    .venv/bin/python -m bench.footprint [--leads 3000]

Two rounds of N leads. The first (posted, delivered, compacted) pays the server's fixed costs
too: client buffers grown by the first bulk writes, tables and caches sized once. The second
round's leads are the margin: bytes per delivered lead, then per compacted lead, each the
larger of the two accounts (the change in used_memory; the sum of MEMORY USAGE), and the fixed
cost is what the first round took beyond its compacted leads. (Divided by the first round
alone, as the first version of this script did, the fixed cost inflates the per-lead figure;
that figure is printed too.)

Then how many leads a day a 25, 50 and 100 MB Redis holds at steady state with the defaults:
each lead keeps its full record for record_retention_hours, then its tombstone (and index
entries) until dedup_ttl_days; the fixed cost is taken from the plan first.
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


def post_all(stack: Stack, leads: int, start: int = 0) -> None:
    """Leads start..start+leads-1 (their own phone numbers: MEGA merges a phone it knows)."""
    run = uuid.uuid4().hex[:6]

    def post(chunk: range) -> None:
        with httpx.Client(timeout=30) as client:
            for i in chunk:
                answer = client.post(stack.hook(0), content=body(run, i),
                                     headers={"Content-Type": "application/json"})
                answer.raise_for_status()

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(post, [range(start + w, start + leads, 4) for w in range(4)]))


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


def used(client: redis.Redis) -> int:
    """used_memory, once the last writes have settled and Redis has shrunk the buffers of
    idle clients (its cron does after 2 s)."""
    time.sleep(4)
    return int(client.info("memory")["used_memory"])


def compact_all(client: redis.Redis) -> bool:
    """Compact every terminal lead now, as the workers do once its retention has passed."""
    store = Store(client)
    if not hasattr(store, "compact"):       # code from before compaction
        return False
    while store.compact(retention_ms=0, limit=1000,
                         dedup_ttl_s=defaults.DEDUP_TTL_DAYS * 86_400):
        pass
    store.close()
    return True


def report(title: str, used: float, kinds: Counter[str], leads: int) -> float:
    """Print the round's figures; bytes per lead: the larger of Redis's two accounts (its
    used_memory moves with buffers freed and tables resized meanwhile, by a few hundred KB)."""
    summed = sum(kinds.values())
    print(f"{title}: {used / leads:,.0f} B per lead by used_memory, {summed / leads:,.0f} B by "
          "MEMORY USAGE; by key kind, B per lead:")
    for kind, size in kinds.most_common():
        if size:
            print(f"  {kind:<12} {size / leads:8,.0f}")
    return max(used, summed) / leads


def steady_state(full: float, compacted: float | None, fixed: float
                 ) -> list[tuple[int, float]]:
    """Leads a day each plan holds: full records for the retention, tombstones after, in
    what the fixed cost leaves."""
    ttl_days = defaults.DEDUP_TTL_DAYS
    full_days = getattr(defaults, "RECORD_RETENTION_HOURS", ttl_days * 24) / 24
    per_day = full * min(full_days, ttl_days) + (compacted or full) * max(0, ttl_days - full_days)
    print(f"steady state (dedup_ttl_days={ttl_days:g}, full records for {full_days:g} days): "
          f"leads/day = (plan bytes - {fixed:,.0f} B fixed) / ({full:,.0f} B x "
          f"{min(full_days, ttl_days):g} d + {compacted or full:,.0f} B x "
          f"{max(0, ttl_days - full_days):g} d) = (plan - {fixed:,.0f} B) / {per_day:,.0f} B")
    return [(mb, (mb * 1_000_000 - fixed) / per_day) for mb in PLANS_MB]


def deliver(stack: Stack, client: redis.Redis, leads: int, total: int) -> None:
    """Post `leads` more and wait until MEGA holds `total`."""
    post_all(stack, leads, total - leads)
    wait_delivered(stack, client, total)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=3000)
    args = parser.parse_args()
    n = args.leads
    with Stack(customers=1, workers=1, event_id="") as stack:
        client = connect(stack.redis.url)
        before = used(client)
        deliver(stack, client, n, n)
        first = used(client) - before
        if not compact_all(client):
            raise SystemExit("this code does not compact (bench.footprint needs compaction)")
        base, kinds = used(client), by_kind(client)
        deliver(stack, client, n, 2 * n)
        for name in list(stack.procs):
            if name.startswith("worker"):
                stack.kill(name)
        delivered = report(f"{n} more delivered", used(client) - base,
                           by_kind(client) - kinds, n)
        client.config_resetstat()
        compact_all(client)
        compacted = report(f"{n} more compacted", used(client) - base,
                           by_kind(client) - kinds, n)
        spent = client.info("commandstats")["cmdstat_evalsha"]["usec"]
        print(f"compaction: {spent / n:.1f} µs inside Redis per lead")
        fixed = base - before - compacted * n
        print(f"fixed cost (the first round's beyond its compacted leads): {fixed:,.0f} B; "
              f"the first round alone: {first / n:,.0f} B per delivered lead, "
              f"{(base - before) / n:,.0f} B per compacted lead")
        print(f"MEGA holds {sum(stack.sim('/_megasim/stats')['leads'].values())} leads")
        plans = steady_state(delivered, compacted, fixed)
        print(f"{'Redis plan':>10} {'leads/day':>10}")
        for mb, per_day in plans:
            print(f"{mb:>7} MB {per_day:>10,.0f}")
        client.close()


if __name__ == "__main__":
    main()
