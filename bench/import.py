"""CSV import: `leadgate import` of a generated file (0.5% invalid rows, 1% repeated
contacts) into megasim, with the whole stack running (Redis, web, workers).

    .venv/bin/python -m bench.import [--rows 10000,100000] [--workers 2]

For each size: the dry run, the import (until every row is terminal) and a second run of the
same file, each as its own `leadgate import` process: seconds, rows/s and the process's peak
memory (ru_maxrss), and MEGA calls.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.harness import Stack


def write_file(path: Path, rows: int) -> None:
    """Name, email, phone and a custom field; every 200th row has no contact, every 100th
    repeats the previous row's phone."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["First Name", "Last Name", "Email", "Phone", "Budget"])
        for i in range(rows):
            if i % 200 == 199:
                writer.writerow(["", "", "not-an-email", "", "$1k"])
            elif i % 100 == 50:
                writer.writerow([f"Again {i}", "", "", f"+1 415 {(i - 1) // 10_000:03d} "
                                 f"{(i - 1) % 10_000:04d}", ""])
            else:
                writer.writerow([f"Bench{i}", "Lead", f"bench{i}@example.com",
                                 f"+1 415 {i // 10_000:03d} {i % 10_000:04d}", f"${i % 90}k"])


def run(stack: Stack, *args: str) -> tuple[float, float, str]:
    """One `leadgate import` process: (seconds, peak RSS in MB, its report)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "import", *args],
                            env=stack.env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    tail = [line.decode() for line in proc.stdout if not line.startswith(b"row ")]
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if proc.returncode:
        raise SystemExit(f"leadgate import {' '.join(args)} failed:\n{''.join(tail)}")
    return seconds, usage.ru_maxrss / 1024, "".join(tail)


def bulk_calls(stack: Stack) -> int:
    return sum(stack.sim("/_megasim/stats")["requests"].get("bulk", {}).values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="10000,100000")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sizes = [int(n) for n in args.rows.split(",")]
    lines = []
    with Stack(customers=1, workers=args.workers) as stack:
        for rows in sizes:
            path = stack.dir / f"leads-{rows}.csv"
            write_file(path, rows)
            common = [str(path), "--customer", "c0", "--map", "Budget=custom_fields.budget"]
            for step, extra in (("dry run", ["--dry-run"]), ("import", []), ("re-run", [])):
                calls = bulk_calls(stack)
                seconds, peak_mb, report = run(stack, *common, *extra)
                lines.append(f"{rows:8d} {step:8} {seconds:8.1f} {rows / seconds:8.0f} "
                             f"{peak_mb:9.1f} {bulk_calls(stack) - calls:10d}")
                if step == "import":
                    print(report, file=sys.stderr)
        leads = sum(stack.sim("/_megasim/stats")["leads"].values())
    print(f"CSV import, {os.cpu_count()} CPUs, {args.workers} workers, megasim without "
          f"rate limit; {leads} leads in megasim at the end")
    print(f"{'rows':>8} {'step':8} {'seconds':>8} {'rows/s':>8} {'peak MB':>9} "
          f"{'MEGA calls':>10}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
