"""Eight days of hourly history for the console's charts, at a few hundred bytes a day each.

The metrics flush (metrics.py) adds each process's counts here too, in the same pipeline: per
route the webhooks accepted, duplicate, rejected and ignored; per customer the leads delivered
and dead and the delivery lag in fixed buckets. Each is one string a UTC day, written with
BITFIELD INCRBY (atomic across processes, no script): a route's hour is 4 u32 counters, a
customer's 2 u32 counters and 11 u16 lag buckets. Every process alive in an hour marks it in the
day's sorted set of hours, with Redis's used memory as the score (ZADD GT keeps the hour's
highest), so a chart tells an idle hour (0) from an hour nothing ran in (a gap).
"""

from __future__ import annotations

import functools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import redis

from gateway import defaults
from gateway.store.keys import Keys

ROUTE_KINDS = ("accepted", "duplicate", "rejected", "ignored")
PASSED = {"accepted", "duplicate", "ignored"}       # every other outcome but "check": rejected
LAG_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 3600.0)  # seconds, + inf
ROUTE_HOUR = 4 * 4                 # bytes: accepted, duplicate, rejected, ignored (u32 each)
CUSTOMER_HOUR = 2 * 4 + (len(LAG_BUCKETS) + 1) * 2   # delivered, dead (u32); buckets (u16)
DAY_S, HOUR_S = 86_400, 3600


@dataclass
class Hour:
    """One hour's figures: alive (a process ran), Redis's highest used memory, per route its
    webhooks by kind, per customer its delivered, dead and lag buckets."""

    start: int
    alive: bool = False
    memory: int = 0
    routes: dict[str, dict[str, int]] = field(default_factory=dict)
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)


class History:
    """Writes (in the metrics flush's pipeline) and reads the hourly history."""

    def __init__(self, client: redis.Redis, keys: Keys):
        self.redis, self.keys = client, keys
        self._made: tuple[int, set[str]] = (-1, set())   # (day, strings this process sized)

    def _size(self, pipe: Any, key: str, kind: str, ttl: int) -> None:
        """Make a day's string at its full size once: grown by BITFIELD, Redis would allocate
        twice what it holds."""
        if key not in self._made[1]:
            hour = ROUTE_HOUR if kind == "route" else CUSTOMER_HOUR
            pipe.set(key, bytes(24 * hour), nx=True, ex=ttl)
            self._made[1].add(key)

    def add(self, pipe: Any, counts: dict[str, float], now: int) -> None:
        """Queue the history's share of a flush's counts on `pipe`."""
        day, hour = divmod(now, DAY_S)
        ttl = _ttl(day * DAY_S, now)
        if self._made[0] != day:
            self._made = (day, set())
        ops: dict[str, list[Any]] = defaultdict(list)
        for name, value in counts.items():
            target = _target(name)
            if target is not None and value >= 1:
                kind, label, offset, width = target
                key = self.keys.history(kind, label, day * DAY_S)
                self._size(pipe, key, kind, ttl)
                base = (hour // HOUR_S) * (ROUTE_HOUR if kind == "route" else CUSTOMER_HOUR)
                ops[key] += ["INCRBY", f"u{width}", (base + offset) * 8, int(value)]
        for key, args in ops.items():
            pipe.execute_command("BITFIELD", key, "OVERFLOW", "SAT", *args)
            pipe.expire(key, ttl)

    def mark(self, pipe: Any, now: int, used_memory: int) -> None:
        """Mark this hour alive, with the memory Redis uses (the hour keeps its highest)."""
        day = now - now % DAY_S
        key = self.keys.history("hours", "", day)
        pipe.zadd(key, {str(now % DAY_S // HOUR_S): used_memory}, gt=True)
        pipe.expire(key, _ttl(day, now))

    def read(self, routes: list[str], customers: list[str], first: int, hours: int) -> list[Hour]:
        """The hours from `first` (an hour's start), oldest first."""
        days = range(first - first % DAY_S, first + hours * HOUR_S, DAY_S)
        pipe = self.redis.pipeline(transaction=False)
        for day in days:
            pipe.zrange(self.keys.history("hours", "", day), 0, -1, withscores=True)
            for name in routes:
                pipe.get(self.keys.history("route", name, day))
            for name in customers:
                pipe.get(self.keys.history("customer", name, day))
        answers = iter(pipe.execute())
        raw = {day: (dict(next(answers)), {n: next(answers) or b"" for n in routes},
                     {n: next(answers) or b"" for n in customers}) for day in days}
        return [_hour(start, *raw[start - start % DAY_S])
                for start in range(first, first + hours * HOUR_S, HOUR_S)]


def _ttl(day: int, now: int) -> int:
    """Seconds a day's keys live: until HISTORY_DAYS days after the day ends (by the clock)."""
    return max(1, day + (defaults.HISTORY_DAYS + 1) * DAY_S - now)


@functools.lru_cache(maxsize=4096)
def _target(name: str) -> tuple[str, str, int, int] | None:
    """Where a metrics field goes in the history: (kind, label, byte offset in the hour, bits),
    or None (not kept)."""
    metric, labels = json.loads(name)
    if metric == "leadgate_webhooks":
        route, outcome = labels.get("route", ""), labels.get("outcome", "")
        if route == "(unknown)" or outcome == "check":
            return None
        kind = outcome if outcome in PASSED else "rejected"
        return "route", route, ROUTE_KINDS.index(kind) * 4, 32
    customer = labels.get("customer", "")
    if metric == "leadgate_leads_delivered":
        return "customer", customer, 0, 32
    if metric == "leadgate_leads_dead":
        return "customer", customer, 4, 32
    if metric == "leadgate_delivery_seconds" and labels.get("bucket") != "sum":
        return "customer", customer, 8 + 2 * _lag_bucket(labels["bucket"]), 16
    return None


def _lag_bucket(bound: str) -> int:
    """The history's bucket for a metrics histogram bucket (their bounds are a superset)."""
    if bound == "+Inf":
        return len(LAG_BUCKETS)
    return next(i for i, b in enumerate(LAG_BUCKETS) if float(bound) <= b)


def _hour(start: int, hours: dict[bytes, float], routes: dict[str, bytes],
          customers: dict[str, bytes]) -> Hour:
    index = start % DAY_S // HOUR_S
    score = hours.get(str(index).encode())
    out = Hour(start, alive=score is not None, memory=int(score or 0))
    for name, blob in routes.items():
        at = index * ROUTE_HOUR
        out.routes[name] = {kind: _uint(blob, at + 4 * i, 4) for i, kind in enumerate(ROUTE_KINDS)}
    for name, blob in customers.items():
        at = index * CUSTOMER_HOUR
        out.customers[name] = {
            "delivered": _uint(blob, at, 4), "dead": _uint(blob, at + 4, 4),
            "lag": [_uint(blob, at + 8 + 2 * i, 2) for i in range(len(LAG_BUCKETS) + 1)]}
    return out


def _uint(blob: bytes, at: int, size: int) -> int:
    """A big-endian unsigned integer BITFIELD wrote (0 past the string's end)."""
    return int.from_bytes(blob[at:at + size].ljust(size, b"\0"), "big")


def quantile(buckets: list[int], q: float) -> float | None:
    """The upper bound of the lag bucket holding the q-quantile (inf past the last bound),
    None without deliveries."""
    total = sum(buckets)
    if not total:
        return None
    running = 0
    for i, count in enumerate(buckets):
        running += count
        if running >= q * total:
            return LAG_BUCKETS[i] if i < len(LAG_BUCKETS) else float("inf")
    return float("inf")
