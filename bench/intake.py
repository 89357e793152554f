"""Intake: leadgate's web (gunicorn, production settings, real Redis) receiving signed
webhooks, beside a bare Flask app that only reads the body and a Flask receiver that enqueues
one RQ job per webhook, all three under the same gunicorn settings in the same run.

    .venv/bin/python -m bench.intake [--seconds 10]

For each: the maximum rate (closed loop), then p50/p99 latency at half of leadgate's maximum
(open loop, latency counted from when each request was due).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import os
import uuid

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=8, help="per load process")
    args = parser.parse_args()
    customers = 10
    with Stack(customers=customers, start_workers=False, hmac_secret=SECRET) as stack:
        targets = {"bare Flask (reads body, 202)": stack.serve("bare", "bench.apps:bare"),
                   "Flask + one RQ job per webhook": stack.serve("rq", "bench.apps:rq_receiver"),
                   "leadgate": stack.web_url}
        run = uuid.uuid4().hex[:6]
        peak = {name: load.run(url, webhook(f"{run}w{n}", customers), seconds=2,
                               connections=args.connections)  # warm-up
                for n, (name, url) in enumerate(targets.items())}
        peak = {name: load.run(url, webhook(f"{run}p{n}", customers), seconds=args.seconds,
                               connections=args.connections)
                for n, (name, url) in enumerate(targets.items())}
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


if __name__ == "__main__":
    main()
