"""Intake: leadgate's web (gunicorn, production settings, real Redis) receiving signed
webhooks, beside a bare Flask app that only reads the body, the same app plus one Redis PING,
a Flask receiver that enqueues one RQ job per webhook, and leadgate with server.ack = "fsync"
(a WAITAOF before each 2xx; Redis with appendfsync everysec), all under the same gunicorn
settings in the same run.

    .venv/bin/python -m bench.intake [--seconds 10]

For each: the maximum rate (closed loop), then p50/p99 latency at half of leadgate's maximum
(open loop, latency counted from when each request was due). Then the CPU time each request
cost at the maximum rate, by process: the web server's, Redis's and the load generator's (all
of them share the machine's cores, so these add up to what limits the rate).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Callable

import psutil

from bench import load
from bench.harness import URL_TOKEN, Stack

SECRET = "bench-hmac-secret-0123456789"


def webhook(run: str, customers: int) -> load.Maker:
    """Realistic signed deliveries, each with its own id (so each is a new lead)."""
    def make(worker: int, seq: int) -> load.Request:
        i = worker * 1_000_000 + seq
        body = json.dumps({
            "id": f"{run}-{i}", "type": "form.submitted", "created_at": "2026-05-01T12:00:00Z",
            "data": {"name": f"Bench Lead {i}", "email": f"lead{i}@example.com",
                     "phone": f"+1206555{i % 10_000:04d}", "budget": "$5k-$10k",
                     "message": "I would like a valuation of my flat, please call after 5pm.",
                     "utm": {"source": "google", "medium": "cpc", "campaign": "spring"}}
        }).encode()
        signature = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        return (f"/hooks/r{i % customers}/{URL_TOKEN}", body,
                {"Content-Type": "application/json", "X-Signature": f"sha256={signature}"})
    return make


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its live children so far."""
    try:
        proc = psutil.Process(pid)
        return sum(sum(each.cpu_times()[:2]) for each in [proc, *proc.children(recursive=True)])
    except psutil.NoSuchProcess:
        return 0.0


def measured(run: Callable[[], load.Stats], web: int, redis: int
             ) -> tuple[load.Stats, tuple[float, float, float]]:
    """A load run, and the CPU µs per request it cost the web server, Redis and the load
    generator (this process's children, reaped when the run ends)."""
    before = cpu_seconds(web), cpu_seconds(redis), os.times()
    stats = run()
    after = cpu_seconds(web), cpu_seconds(redis), os.times()
    generator = (after[2].children_user + after[2].children_system
                 - before[2].children_user - before[2].children_system)
    per = 1e6 / max(1, stats.requests)
    return stats, ((after[0] - before[0]) * per, (after[1] - before[1]) * per, generator * per)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8, help="per load process")
    args = parser.parse_args()
    customers = 10
    with Stack(customers=customers, start_workers=False, hmac_secret=SECRET) as stack:
        targets = {"bare Flask (reads body, 202)": stack.serve("bare", "bench.apps:bare"),
                   "bare Flask + one Redis PING": stack.serve("ping", "bench.apps:ping"),
                   "Flask + one RQ job per webhook": stack.serve("rq", "bench.apps:rq_receiver"),
                   "leadgate": stack.web_url,
                   'leadgate, server.ack = "fsync"': stack.serve_web("fsync", ack='"fsync"')}
        servers = dict(zip(targets, ["bare", "ping", "rq", "web", "fsync"], strict=True))
        assert stack.redis.process is not None
        run = uuid.uuid4().hex[:6]
        for n, url in enumerate(targets.values()):                  # warm-up
            load.run(url, webhook(f"{run}w{n}", customers), seconds=2,
                     connections=args.connections)
        peak, cpu = {}, {}
        for n, (name, url) in enumerate(targets.items()):
            peak[name], cpu[name] = measured(
                lambda url=url, n=n: load.run(url, webhook(f"{run}p{n}", customers),
                                              seconds=args.seconds, connections=args.connections),
                stack.procs[servers[name]].pid, stack.redis.process.pid)
        half = peak["leadgate"].rate / 2
        paced = {name: load.run(url, webhook(f"{run}h{n}", customers), seconds=args.seconds,
                                connections=args.connections, rate=half)
                 for n, (name, url) in enumerate(targets.items())}
    bare = peak["bare Flask (reads body, 202)"].rate
    print(f"intake, {os.cpu_count()} CPUs, gunicorn gthread {os.environ.get('WEB_CONCURRENCY', 2)}"
          f" workers x {os.environ.get('GUNICORN_THREADS', 4)} threads, "
          f"{2 * args.connections} client connections, {args.seconds:.0f} s per run")
    print(f"{'target':32} {'max req/s':>10} {'vs bare':>8} {'errors':>7} "
          f"{'p50 ms':>8} {'p99 ms':>8}  (at {half:.0f} req/s)")
    for name in targets:
        top, low = peak[name], paced[name]
        print(f"{name:32} {top.rate:10.0f} {top.rate / bare:8.0%} {top.errors + low.errors:7d} "
              f"{low.p50:8.2f} {low.pct(99):8.2f}")
    print(f"\nCPU µs per request at the maximum rate\n{'target':32} {'web':>7} {'Redis':>7} "
          f"{'load gen':>9} {'total':>7}")
    for name in targets:
        web, redis, generator = cpu[name]
        print(f"{name:32} {web:7.0f} {redis:7.0f} {generator:9.0f} {web + redis + generator:7.0f}")


if __name__ == "__main__":
    main()
