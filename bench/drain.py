"""Backlog drain: 100,000 leads queued for 10 customers while no worker runs (an outage),
then workers start against megasim with no rate limit.

    .venv/bin/python -m bench.drain [--leads 100000] [--workers 2]

Reports leads/s, MEGA requests per 1,000 leads and the workers' peak memory (VmHWM).
"""

from __future__ import annotations

import argparse
import os
import time
import uuid
from pathlib import Path

from bench.harness import Stack
from gateway.config import load_config
from gateway.domain.leads import draft_event
from gateway.domain.sources import SOURCES
from gateway.domain.sources.base import Draft
from gateway.store.connection import connect
from gateway.store.store import Store


def queue_backlog(stack: Stack, leads: int) -> float:
    """Store the leads exactly as intake does (same records, same Lua), without HTTP."""
    config = load_config(stack.dir / "leadgate.toml", env=stack.env)
    client = connect(stack.redis.url)
    store = Store(client)
    run = uuid.uuid4().hex[:6]
    started = time.perf_counter()
    for start in range(0, leads, 500):
        by_customer: dict[str, list[dict[str, str]]] = {}
        for i in range(start, min(leads, start + 500)):
            route = config.routes[f"r{i % stack.customers}"]
            draft = Draft(event_id=f"{run}-{i}", lead={"contact_name": f"Drain Lead {i}",
                                                       "contact_email": f"d{run}{i}@example.com"},
                          fields={"budget": "$5k"}, used=set())
            by_customer.setdefault(route.customer, []).append(
                draft_event(route, SOURCES["generic"], draft, time.time()).to_fields())
        for name, records in by_customer.items():
            store.ingest(config.customers[name], records, config.dedup_ttl_s)
    store.close()
    client.close()
    return time.perf_counter() - started


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--customers", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with Stack(customers=args.customers, workers=args.workers, start_workers=False) as stack:
        queued_s = queue_backlog(stack, args.leads)
        started = time.perf_counter()
        stack.start_all_workers()
        while sum(stack.sim("/_megasim/stats")["leads"].values()) < args.leads:
            time.sleep(0.2)
            if time.perf_counter() - started > 1800:
                raise SystemExit("the backlog did not drain in 30 minutes")
        seconds = time.perf_counter() - started
        requests = sum(sum(codes.values())
                       for codes in stack.sim("/_megasim/stats")["requests"].values())
        memory = [peak_rss_mb(stack.procs[f"worker{i}"].pid) for i in range(args.workers)]
    print(f"backlog drain, {os.cpu_count()} CPUs, {args.workers} workers, "
          f"{args.customers} customers (queued in {queued_s:.0f} s, no HTTP)")
    print(f"{'leads':>8} {'seconds':>8} {'leads/s':>8} {'MEGA req/1k leads':>18} "
          f"{'worker peak RSS MB':>19}")
    print(f"{args.leads:8d} {seconds:8.1f} {args.leads / seconds:8.0f} "
          f"{requests / args.leads * 1000:18.2f} {max(memory):19.1f}")


if __name__ == "__main__":
    main()
