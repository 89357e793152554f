"""The chaos run: N webhooks through web + several workers + megasim with faults injected,
workers SIGKILLed and restarted at random; then every event must be delivered exactly once.

    .venv/bin/python -m bench.chaos --n 20000

Leads carry only a unique name, so MEGA's own email/phone dedup cannot hide a duplicate.
Exit status 0 only when nothing is lost, duplicated, dead or left unfinished.
"""

from __future__ import annotations

import argparse
import collections
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import redis

from bench.harness import Stack
from gateway.domain.policy import lease_s
from gateway.store.store import event_id

MEGA_TIMEOUT_S = 2.0
LEASE_S = lease_s(MEGA_TIMEOUT_S)
FAULTS = {"error_rate": 0.03, "commit_then_fail_rate": 0.03, "drop_rate": 0.02,
          "slow_rate": 0.01, "slow_ms": 2500,
          "trickle_ms": int((LEASE_S + 3) * 1000)}     # an answer slower than the lease
BURST = ["drop_after_commit", "trickle", "429", "429", "429", "503"]


@dataclass
class Result:
    distinct: int
    posted: int = 0
    post_retries: int = 0
    kills: int = 0
    bursts: int = 0
    leads: int = 0
    lost: int = 0
    duplicated: int = 0
    dead: int = 0
    not_terminal: int = 0
    post_s: float = 0.0
    quiescent_s: float = 0.0
    mega: dict[str, Any] = field(default_factory=dict)

    @property
    def in_progress(self) -> int:
        """Requests that met their key's first request still unanswered (megasim's 409)."""
        return int(self.mega.get("409", 0))

    @property
    def ok(self) -> bool:
        return not (self.lost or self.duplicated or self.dead or self.not_terminal
                    or self.in_progress)

    def table(self) -> str:
        rows = [
            ("distinct events", f"{self.distinct:,}"),
            ("webhooks posted", f"{self.posted:,} ({self.posted - self.distinct:,} duplicate "
                                f"deliveries, {self.post_retries:,} re-posts after errors)"),
            ("workers SIGKILLed", f"{self.kills} (each restarted)"),
            ("fault bursts", f"{self.bursts} (drop-after-commit, an answer trickling in over "
                             f"{FAULTS['trickle_ms'] / 1000:.0f} s > the {LEASE_S:.0f} s lease, "
                             "429 x3, 503)"),
            ("MEGA answers", ", ".join(f"{k}: {v}" for k, v in sorted(self.mega.items()))),
            ("leads in megasim", f"{self.leads:,}"),
            ("lost", str(self.lost)), ("duplicated", str(self.duplicated)),
            ("key in progress", f"{self.in_progress} (409: a resend while MEGA still answered)"),
            ("dead letters", str(self.dead)), ("not terminal", str(self.not_terminal)),
            ("time", f"posting {self.post_s:.1f} s, quiescent after {self.quiescent_s:.1f} s"),
        ]
        width = max(len(name) for name, _ in rows)
        return "\n".join(f"{name:<{width}}  {value}" for name, value in rows)


def run(n: int = 20_000, *, customers: int = 10, workers: int = 3, kill_every_s: float = 4.0,
        dup_rate: float = 0.1, late_dup_rate: float = 0.05, senders: int = 16,
        timeout_s: float = 900.0, seed: int = 1) -> Result:
    rng = random.Random(seed)
    run_id = uuid.uuid4().hex[:8]
    stack = Stack(customers=customers, workers=workers, mega_timeout_s=MEGA_TIMEOUT_S,
                  linger_ms=200,
                  limits={"window_s": 5, "single_per_window": 100_000,
                          "bulk_per_window": 100_000}, faults=FAULTS)
    result = Result(distinct=n)
    with stack:
        stop = threading.Event()
        chaos = threading.Thread(target=_chaos, args=(stack, stop, rng, kill_every_s, result),
                                 daemon=True)
        chaos.start()
        started = time.monotonic()
        plan = [(i, rng.random() < dup_rate) for i in range(n)]
        local = threading.local()

        lock = threading.Lock()
        clients: list[httpx.Client] = []

        def send(item: tuple[int, bool]) -> None:
            i, twice = item
            if not hasattr(local, "http"):
                local.http = httpx.Client(timeout=10)
                with lock:
                    clients.append(local.http)
            for _ in range(2 if twice else 1):
                retries = _post(local.http, stack, run_id, i)
                with lock:
                    result.post_retries += retries

        with ThreadPoolExecutor(senders) as pool:
            list(pool.map(send, plan))
            late = [(i, False) for i in range(n) if rng.random() < late_dup_rate]
            list(pool.map(send, late))       # a provider retrying much later
        for http in clients:
            http.close()
        result.posted = n + sum(twice for _, twice in plan) + len(late)
        result.post_s = time.monotonic() - started
        stop.set()                  # the outage is over: no more kills, faults or bursts
        chaos.join()
        _wait_burst_met(stack, started + timeout_s)
        stack.set_faults(**{name: 0.0 for name in FAULTS if name.endswith("_rate")}, script=[])
        _wait_quiescent(stack, started + timeout_s)
        result.quiescent_s = time.monotonic() - started
        _check(stack, run_id, n, result)
    return result


def _post(http: httpx.Client, stack: Stack, run_id: str, i: int) -> int:
    """Post one delivery until it is acknowledged, as a provider retries; returns re-posts."""
    body = {"id": f"{run_id}-{i}", "name": f"Chaos Lead {run_id} {i}"}
    for attempt in range(100):
        try:
            if http.post(stack.hook(i % stack.customers), json=body).status_code < 300:
                return attempt
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"webhook {i} was never acknowledged")


def _chaos(stack: Stack, stop: threading.Event, rng: random.Random, every_s: float,
           result: Result) -> None:
    """While webhooks arrive: SIGKILL a random worker now and then (and restart it), and
    send the next few MEGA requests a burst of faults. The first comes at once, so even a
    short run meets one."""
    first = True
    while first or not stop.wait(rng.uniform(0.5, 1.5) * every_s):
        first = False
        name = f"worker{rng.randrange(stack.workers)}"
        stack.kill(name)
        result.kills += 1
        stack.set_faults(script=BURST)
        result.bursts += 1
        time.sleep(rng.uniform(0.2, 1.5))
        stack.start_worker(int(name.removeprefix("worker")))


def _wait_burst_met(stack: Stack, deadline: float) -> None:
    """Until MEGA has met the last burst of faults, or nothing is left to deliver."""
    while time.monotonic() < deadline and stack.sim("/_megasim/faults")["script"]:
        if _quiescent(stack):
            return
        time.sleep(0.2)


def _quiescent(stack: Stack) -> bool:
    with redis.Redis.from_url(stack.redis.url) as client:
        return not (client.zcard("leadgate:due") or client.zcard("leadgate:leases")
                    or any(client.scan_iter("leadgate:buffer:*"))
                    or any(client.scan_iter("leadgate:batch:*")))


def _wait_quiescent(stack: Stack, deadline: float) -> None:
    while time.monotonic() < deadline and not _quiescent(stack):
        time.sleep(0.5)


def _check(stack: Stack, run_id: str, n: int, result: Result) -> None:
    with redis.Redis.from_url(stack.redis.url) as client:
        _check_with(client, stack, run_id, n, result)


def _check_with(client: redis.Redis, stack: Stack, run_id: str, n: int, result: Result) -> None:
    pipe = client.pipeline(transaction=False)
    for i in range(n):
        eid = event_id(f"c{i % stack.customers}", "generic", f"{run_id}-{i}")
        pipe.hget(f"leadgate:event:{eid}", "status")
    statuses = collections.Counter(s.decode() if s else "missing" for s in pipe.execute())
    result.not_terminal = n - statuses["delivered"] - statuses["dead"]
    result.dead = int(client.zcard("leadgate:dead"))
    names = collections.Counter(lead["contact_name"]
                                for lead in stack.sim("/_megasim/leads")["leads"])
    result.leads = sum(names.values())
    result.duplicated = sum(count - 1 for count in names.values() if count > 1)
    result.lost = sum(1 for i in range(n) if f"Chaos Lead {run_id} {i}" not in names)
    stats = stack.sim("/_megasim/stats")["requests"]
    totals: collections.Counter[str] = collections.Counter()
    for by_status in stats.values():
        totals.update({str(k): v for k, v in by_status.items()})
    result.mega = dict(totals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000, help="distinct webhooks")
    parser.add_argument("--customers", type=int, default=10)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--kill-every", type=float, default=4.0, help="seconds, on average")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    result = run(args.n, customers=args.customers, workers=args.workers,
                 kill_every_s=args.kill_every, seed=args.seed)
    print(result.table())
    raise SystemExit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
