"""Rate-limit use: one customer with a sustained backlog against megasim's per-minute bulk
limit; how much of the limit's ceiling is used, and how many 429s per window.

    .venv/bin/python -m bench.ratelimit [--windows 3] [--window-s 60] [--calls 10]

Ceiling = calls per window x 500 leads per bulk call. Leads are counted from the first bulk
call for whole windows, so the reading is the sustained rate, not the start or the tail.
"""

from __future__ import annotations

import argparse
import time

from bench.drain import queue_backlog
from bench.harness import Stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--windows", type=int, default=3)
    parser.add_argument("--window-s", type=int, default=60)
    parser.add_argument("--calls", type=int, default=10, help="bulk calls allowed per window")
    args = parser.parse_args()
    ceiling = args.calls * 500
    backlog = ceiling * (args.windows + 1)
    limits = {"window_s": args.window_s, "bulk_per_window": args.calls,
              "single_per_window": 1_000_000}
    with Stack(customers=1, workers=2, limits=limits, start_workers=False) as stack:
        queue_backlog(stack, backlog)
        stack.start_all_workers()
        while not stack.sim("/_megasim/stats")["leads"]:
            time.sleep(0.05)
        started = time.monotonic()
        done = started + args.windows * args.window_s
        time.sleep(max(0.0, done - time.monotonic()))
        delivered = sum(stack.sim("/_megasim/stats")["leads"].values())
        codes = stack.sim("/_megasim/stats")["requests"].get("bulk", {})
    used = delivered / (ceiling * args.windows)
    too_many = codes.get("429", 0) / args.windows
    print(f"rate-limit use: bulk limit {args.calls} calls per {args.window_s} s "
          f"(ceiling {ceiling:,} leads per window), backlog {backlog:,} leads, 2 workers")
    print(f"{'windows':>8} {'delivered':>10} {'ceiling':>10} {'used':>6} {'429s/window':>12}")
    print(f"{args.windows:8d} {delivered:10,} {ceiling * args.windows:10,} {used:6.1%} "
          f"{too_many:12.2f}")


if __name__ == "__main__":
    main()
