"""Latency from webhook received to MEGA's answer, at a steady 20 webhooks/s: with
`delivery = "single"` (every lead its own create) and with `auto` at the default linger_ms.

    .venv/bin/python -m bench.latency [--seconds 30] [--rate 20]

Both ends are read from each event's record: received_at (intake) and finished_at (written
right after MEGA answered).
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

import httpx
import redis

from bench import load
from bench.harness import URL_TOKEN, Stack
from gateway import defaults


def measure(delivery: str, linger_ms: int, seconds: float, rate: float) -> dict[str, float]:
    run = uuid.uuid4().hex[:6]

    def make(worker: int, seq: int) -> load.Request:
        body = f'{{"id": "{run}-{worker}-{seq}", "name": "Latency Lead {seq}"}}'.encode()
        return f"/hooks/r0/{URL_TOKEN}", body, {"Content-Type": "application/json"}

    with Stack(customers=1, workers=2, delivery=delivery, linger_ms=linger_ms) as stack:
        for i in range(3):          # warm-up: imports, MEGA connections, the first jobs
            httpx.post(stack.hook(0), json={"id": f"warm-{run}-{i}", "name": "Warm-up"})
        time.sleep(2)
        sent = load.run(stack.web_url, make, seconds=seconds, processes=1, connections=4,
                        rate=rate)
        with redis.Redis.from_url(stack.redis.url) as client:
            deadline = time.monotonic() + 60
            while client.llen("leadgate:buffer:c0") or client.exists("leadgate:batch:c0"):
                if time.monotonic() > deadline:
                    raise SystemExit("leads were still queued a minute after the last webhook")
                time.sleep(0.2)
            pipe = client.pipeline(transaction=False)
            for key in client.scan_iter("leadgate:event:*", count=1000):
                pipe.hmget(key, "received_at", "finished_at", "endpoint", "provider_id")
            rows = [r[:3] for r in pipe.execute() if r[1] and r[3].startswith(run.encode())]
        calls = stack.sim("/_megasim/stats")["requests"]
    latencies = sorted(int(done) - int(got) for got, done, _ in rows)
    return {"webhooks": sent.requests, "delivered": len(rows),
            "single": sum(1 for *_, e in rows if e == b"single"),
            "calls": sum(sum(c.values()) for c in calls.values()),
            "p50": statistics.median(latencies), "p99": latencies[int(0.99 * len(latencies))],
            "max": latencies[-1]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args()
    print(f"webhook received -> MEGA answered, {args.rate:.0f} webhooks/s for "
          f"{args.seconds:.0f} s, one customer, 2 workers")
    print(f"{'delivery':24} {'webhooks':>8} {'MEGA calls':>10} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>7}")
    for delivery, linger in (("single", defaults.LINGER_MS), ("auto", defaults.LINGER_MS)):
        got = measure(delivery, linger, args.seconds, args.rate)
        label = "single" if delivery == "single" else f"auto (linger {linger} ms)"
        print(f"{label:24} {got['delivered']:8.0f} "
              f"{got['calls']:10.0f} {got['p50']:7.0f} {got['p99']:7.0f} {got['max']:7.0f}")


if __name__ == "__main__":
    main()
