"""Redis bytes the console's hourly history costs, per route-day and per customer-day.

    .venv/bin/python -m bench.history [--routes 20] [--customers 20]

Fills the worst case through the metrics flush itself: every route with all four webhook
kinds and every customer with delivered, dead and all twelve lag buckets in every hour of
HISTORY_DAYS days (the clock driven hour by hour, each hour marked alive with a memory sample),
then sums MEMORY USAGE of the history's keys by kind. The budget: 1% of a 25 MB plan.
"""

from __future__ import annotations

import argparse
import tempfile
from collections import defaultdict
from pathlib import Path

import redis

from bench.harness import free_port
from gateway import defaults
from gateway.local.redis_server import RedisServer
from gateway.store.keys import Keys
from gateway.store.metrics import Metrics
from gateway.store.state.history import LAG_BUCKETS, History

OUTCOMES = ("accepted", "duplicate", "bad_request", "ignored")
START = 1_777_593_600              # a UTC midnight
PLAN_BYTES = 25 * 1024 * 1024


def fill(client: redis.Redis, routes: int, customers: int) -> None:
    """Every hour of the kept days, every series counted (the most the history can hold)."""
    clock = [float(START)]
    keys = Keys()
    metrics = Metrics(client, keys.metrics, history=History(client, keys),
                      clock=lambda: clock[0])
    for hour in range(defaults.HISTORY_DAYS * 24):
        clock[0] = START + hour * 3600 + 1
        for r in range(routes):
            for outcome in OUTCOMES:
                metrics.inc("leadgate_webhooks", 70_000, route=f"route-{r:02d}", outcome=outcome)
        for c in range(customers):
            name = f"customer-{c:02d}"
            metrics.inc("leadgate_leads_delivered", 70_000, customer=name, status="created")
            metrics.inc("leadgate_leads_dead", 3, customer=name, reason="rejected")
            for seconds in (*LAG_BUCKETS, 7200.0):
                metrics.observe("leadgate_delivery_seconds", seconds, customer=name)
        metrics.flush()


def measure(client: redis.Redis) -> dict[str, list[int]]:
    """MEMORY USAGE of each history key, by kind (route, customer, hours)."""
    sizes: dict[str, list[int]] = defaultdict(list)
    for key in client.scan_iter("leadgate:history:*", count=1000):
        kind = key.decode().split(":")[2]
        sizes[kind].append(int(client.memory_usage(key, samples=0) or 0))
    return sizes


def main() -> None:
    """Fill, measure, print the figures and the verdict against the budget."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--routes", type=int, default=20)
    parser.add_argument("--customers", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        server = RedisServer(Path(folder), port=free_port(), persistent=False)
        server.start()
        try:
            client = redis.Redis.from_url(server.url)
            fill(client, args.routes, args.customers)
            report(measure(client), args.routes, args.customers)
        finally:
            server.stop()


def report(sizes: dict[str, list[int]], routes: int, customers: int) -> None:
    """Bytes per route-day, per customer-day, per day of marks, and the total."""
    days = defaultdict(int, {k: len(v) for k, v in sizes.items()})
    mean = {k: sum(v) / len(v) for k, v in sizes.items()}
    total = sum(sum(v) for v in sizes.values())
    print(f"{defaults.HISTORY_DAYS} days, {routes} routes, {customers} customers, every "  # noqa: T201
          f"series counted every hour ({days['route'] + days['customer'] + days['hours']} keys)")
    for kind in ("route", "customer", "hours"):
        print(f"  per {kind}-day: {mean.get(kind, 0):.0f} bytes")  # noqa: T201
    share = 100 * total / PLAN_BYTES
    print(f"  total: {total} bytes = {share:.2f}% of a 25 MB plan "  # noqa: T201
          f"({'under' if share < 1 else 'OVER'} the 1% budget)")


if __name__ == "__main__":
    main()
