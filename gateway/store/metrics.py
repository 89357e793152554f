"""Prometheus metrics that add up across every process and dyno: kept in Redis.

Each process counts in memory and adds its counts to one Redis hash every second (a lost
second on a crash is the price of keeping Redis off the hot path). `/metrics` reads that hash
and the live queue state, so any web process answers for the whole deployment.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

import redis
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from gateway import defaults
from gateway.errors import StoreUnavailable
from gateway.store.state.history import History

log = logging.getLogger("leadgate.metrics")
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
           1800.0, 3600.0)
COUNTERS = {
    "leadgate_webhooks": ("Webhooks received, by route and outcome", ("route", "outcome")),
    "leadgate_leads_delivered": ("Leads MEGA accepted, by customer and MEGA status",
                                 ("customer", "status")),
    "leadgate_leads_dead": ("Leads that became dead letters, by customer and reason",
                            ("customer", "reason")),
    "leadgate_leads_missing": ("Event ids a flush found in a customer's queue without a "
                               "record (purged or lost): dropped, the rest delivered",
                               ("customer",)),
    "leadgate_mega_requests": ("Requests to MEGA, by endpoint and answer code",
                               ("endpoint", "code")),
    "leadgate_reconcile_leads": ("Leads reconciliation listed, by route and result (known: "
                                 "already stored; missed: the webhook never brought it)",
                                 ("route", "result")),
    "leadgate_contact_index_left_out": ("Events left out of the contact search: their contact "
                                        "had reached its daily limit", ()),
}
HISTOGRAMS = {
    "leadgate_intake_seconds": ("Time to answer a webhook", ("route",)),
    "leadgate_delivery_seconds": ("Webhook received to MEGA's acceptance", ("customer",)),
}
FLUSH_INTERVAL_S = 1.0


class Metrics:
    """In-process counts, added to Redis in the background."""

    def __init__(self, client: redis.Redis, key: str, *,
                 window: Callable[[int, int], str] | None = None,
                 history: History | None = None, clock: Callable[[], float] = time.time):
        self.redis, self.key, self.window = client, key, window
        self.history, self.clock = history, clock
        self._marked = (-1, float("-inf"))     # (hour, when) this process last marked alive
        self._counts: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._closed = threading.Event()

    def inc(self, name: str, value: float = 1.0, **labels: str) -> None:
        """Add to a counter (written to Redis by the background thread)."""
        self._add(_field(name, labels), value)

    def observe(self, name: str, seconds: float, **labels: str) -> None:
        """Count one duration in its histogram bucket."""
        bucket = next((str(b) for b in BUCKETS if seconds <= b), "+Inf")
        with self._lock:
            self._counts[_field(name, labels, bucket=bucket)] += 1
            self._counts[_field(name, labels, bucket="sum")] += seconds
        self._start()

    def _add(self, field: str, value: float) -> None:
        with self._lock:
            self._counts[field] += value
        self._start()

    def start(self) -> None:
        """Flush every second from now on, counts or not: the flush marks the hour alive."""
        self._start()

    def _start(self) -> None:
        if self._closed.is_set():
            return
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._loop, name="metrics", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._closed.wait(FLUSH_INTERVAL_S):
            self.flush()

    def close(self) -> None:
        """Stop the background thread and add what is left to Redis now: nothing this object
        counted lands in Redis after it is closed (counts made later stay until a flush)."""
        self._closed.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self.flush()

    def flush(self) -> None:
        """Write this process's counts to Redis now."""
        with self._lock:
            counts, self._counts = self._counts, defaultdict(float)
        now = int(self.clock())
        mark = self._mark_due(now)
        if not counts and not mark:
            return
        try:
            pipe = self.redis.pipeline(transaction=False)
            for field, value in counts.items():
                pipe.hincrbyfloat(self.key, field, value)
            self._windows(pipe, counts, now)
            if mark and self.history is not None:
                self.history.mark(pipe, now, int(self.redis.info("memory")["used_memory"]))
            pipe.execute()
            if mark:
                self._marked = (now // 3600, time.monotonic())
        except (redis.RedisError, StoreUnavailable):    # keep the counts for the next try
            with self._lock:
                for field, value in counts.items():
                    self._counts[field] += value

    def _mark_due(self, now: int) -> bool:
        """A new hour by the clock, or HISTORY_MARK_S since the last mark (a memory sample)."""
        hour, when = self._marked
        return self.history is not None and (
            now // 3600 != hour or time.monotonic() - when >= defaults.HISTORY_MARK_S)

    def _windows(self, pipe: Any, counts: dict[str, float], now: int) -> None:
        """The counters also go to this time window's hashes (the console's last hour/24 h),
        and to the eight days' hourly history (the console's charts)."""
        if self.history is not None:
            self.history.add(pipe, counts, now)
        if self.window is None:
            return
        for size, kept in defaults.METRICS_WINDOWS:
            key = self.window(size, now - now % size)
            for field, value in counts.items():
                if _is_counter(field):
                    pipe.hincrbyfloat(key, field, value)
            pipe.expire(key, kept)

    def window_totals(self, size: int, span: int) -> list[tuple[str, dict[str, str], float]]:
        """Counter totals over the last `span` seconds (the `size`-second windows that started
        within it), as (metric, labels, total)."""
        assert self.window is not None
        now = int(self.clock())
        pipe = self.redis.pipeline(transaction=False)
        for at in range(now - now % size, now - span, -size):
            pipe.hgetall(self.window(size, at))
        totals: dict[bytes, float] = defaultdict(float)
        for raw in pipe.execute():
            for field, value in raw.items():
                totals[field] += float(value)
        return [(*json.loads(field), value) for field, value in totals.items()]


@functools.lru_cache(maxsize=4096)
def _is_counter(field: str) -> bool:
    return json.loads(field)[0] in COUNTERS


def series(name: str, **labels: str) -> str:
    """The hash field a series is counted under (for a script that counts one itself)."""
    return _field(name, labels)


def _field(name: str, labels: dict[str, str], **extra: str) -> str:
    return _field_of(name, tuple(sorted({**labels, **extra}.items())))


@functools.lru_cache(maxsize=4096)
def _field_of(name: str, labels: tuple[tuple[str, str], ...]) -> str:
    """The hash field of one series (cached: the same few series repeat all day)."""
    return json.dumps([name, dict(labels)], sort_keys=True, separators=(",", ":"))


class StateCollector(Collector):
    """Counters and histograms from the Redis hash, gauges from the queues themselves."""

    def __init__(self, store: Any, customers: list[str], *, max_memory_mb: int | None = None):
        self.store, self.customers, self.max_memory_mb = store, customers, max_memory_mb

    def collect(self) -> Iterator[Metric]:
        """Counters and histograms from Redis, and the state gauges."""
        raw = self.store._redis.hgetall(self.store.keys.metrics)
        values = [(json.loads(k), float(v)) for k, v in raw.items()]
        for name, (doc, labels) in COUNTERS.items():
            family = CounterMetricFamily(name, doc, labels=labels)
            for (metric, got), value in values:
                if metric == name:
                    family.add_metric([got.get(label, "") for label in labels], value)
            yield family
        for name, (doc, labels) in HISTOGRAMS.items():
            yield from _histograms(name, doc, labels, values)
        yield from self._gauges()

    def _source_health(self) -> Metric:
        return _source_health_family(self.store._redis.hgetall(self.store.keys.source_health))

    def _gauges(self) -> Iterator[Metric]:
        pending = GaugeMetricFamily("leadgate_leads_pending", "Leads queued, not yet sent",
                                    labels=["customer"])
        in_flight = GaugeMetricFamily("leadgate_leads_in_flight", "Leads in the batch being "
                                      "sent", labels=["customer"])
        blocked = GaugeMetricFamily("leadgate_customer_blocked", "1 while MEGA or Meta refuses "
                                    "the customer's credentials", labels=["customer"])
        for name in self.customers:
            summary = self.store.customer_summary(name)
            pending.add_metric([name], summary["pending"])
            in_flight.add_metric([name], summary["in_flight"])
            blocked.add_metric([name], 1 if summary["state"] == "blocked" else 0)
        yield from (pending, in_flight, blocked)
        yield self._source_health()
        yield GaugeMetricFamily("leadgate_dead_letters", "Dead letters kept until replayed or "
                                "purged", value=self.store.dead_count())
        yield from self._memory()

    def _memory(self) -> Iterator[Metric]:
        """Redis's used memory, and its limit when known (maxmemory or redis.max_memory_mb)."""
        from gateway.store.headroom import memory

        now = memory(self.store._redis.info("memory"), self.max_memory_mb)
        yield GaugeMetricFamily("leadgate_redis_memory_used_bytes", "Memory Redis uses "
                                "(INFO memory used_memory)", value=now.used)
        if now.limit:
            yield GaugeMetricFamily("leadgate_redis_memory_max_bytes", "Redis's memory limit: "
                                    "maxmemory, else redis.max_memory_mb", value=now.limit)


def _source_health_family(raw: dict[bytes, bytes]) -> Metric:
    """1 for each checked route's current source-health state, Meta's or Google's (and 0 for
    the others)."""
    states = ("healthy", "token_expiring", "token_invalid", "not_subscribed",
              "permission_missing", "unknown")
    family = GaugeMetricFamily("leadgate_source_health", "1 for a route's current "
                               "source-health state", labels=["route", "state"])
    for route, value in sorted(raw.items()):
        current = json.loads(value).get("state")
        for state in states:
            family.add_metric([route.decode(), state], 1 if state == current else 0)
    return family


def _histograms(name: str, doc: str, labels: tuple[str, ...],
                values: list[tuple[list[Any], float]]) -> Iterator[Metric]:
    series: dict[tuple[str, ...], dict[str, float]] = defaultdict(dict)
    for (metric, got), value in values:
        if metric == name:
            bucket = got.pop("bucket")
            series[tuple(got.get(label, "") for label in labels)][bucket] = value
    family = HistogramMetricFamily(name, doc, labels=list(labels))
    for key, buckets in series.items():
        cumulative, rows = 0.0, []
        for bound in [*map(str, BUCKETS), "+Inf"]:
            cumulative += buckets.get(bound, 0.0)
            rows.append((bound, cumulative))
        family.add_metric(list(key), rows, sum_value=buckets.get("sum", 0.0))
    yield family


def render(store: Any, customers: list[str], *, max_memory_mb: int | None = None,
           accept: str | None = None) -> tuple[bytes, str]:
    """Every counter and gauge, and its Content-Type: OpenMetrics when the scraper's Accept
    asks for it, else Prometheus text (prometheus-client negotiates)."""
    from prometheus_client.exposition import choose_encoder

    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(store, customers, max_memory_mb=max_memory_mb))
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
