"""Reconciliation: list each reconciling route's leads at its source and ingest them through
the webhook's event key, so a lead whose webhook never came is stored, delivered and counted
as missed.

A source declares the capability (workers/capabilities.py): it names a route's streams (Meta:
its forms), lists a stream's items between two times, and maps an item to drafts. This runner
owns the rest: one reconciliation per route at a time across all workers (a Redis lock with a
token; the watermarks are written only while it holds), a watermark per stream with an overlap
and a grace period, ingest through the same event key (a lead seen already is a duplicate),
counts, and a backoff per failing route.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from gateway import defaults
from gateway.config import Config, Route
from gateway.domain.event import Event
from gateway.domain.leads import draft_event
from gateway.domain.sources.settings import ReconcileSettings
from gateway.errors import NoUsableLead, SourceError
from gateway.ingest import ingest
from gateway.store.route_status import reconciles
from gateway.store.store import Store, now_ms
from workers.capabilities import CAPABILITIES, Reconciliation

log = logging.getLogger("leadgate.reconcile")


def reconciliation(source: str, timeout_s: float) -> Reconciliation | None:
    """The source's reconciliation capability, or None."""
    side = CAPABILITIES.get(source)
    return side.reconciliation(timeout_s) if side and side.reconciliation else None


@dataclass
class Tally:
    """What one listing found: leads seen, already known (and by which match rule: "id" is
    the event key, others the source's own), new (stored now), failed."""

    seen: int = 0
    known: int = 0
    new: int = 0
    failed: int = 0
    rules: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        """Add another tally's counts to this one."""
        for name in ("seen", "known", "new", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.rules.update(other.rules)


def reconciled_routes(config: Config) -> list[Route]:
    """The routes whose source reconciles and that have it switched on."""
    return [r for r in config.routes.values() if reconciles(r) and
            r.source in CAPABILITIES and CAPABILITIES[r.source].reconciliation]


def retry_in_s(failures: int, *, rand: Callable[[], float] = random.random) -> float:
    """After a failed run: doubling from RECONCILE_BACKOFF_S, capped, with a little jitter."""
    wait = min(defaults.RECONCILE_BACKOFF_CAP_S,
               defaults.RECONCILE_BACKOFF_S * (1 << max(0, failures - 1)))
    return wait * (0.9 + 0.2 * rand())


def listed_events(found: Reconciliation, route: Route, items: list[Any], now: float, via: str
                  ) -> list[tuple[Any, Event]]:
    """Listed items with their events: the same event ids as their webhooks."""
    pairs = [(item, event) for item in items
             if (event := first_event(found, route, item, now))]
    for _, event in pairs:
        event.extra["via"] = via
    return pairs


def first_event(found: Reconciliation, route: Route, item: Any, now: float) -> Event | None:
    """The event of the item's first draft with a usable lead (None: no draft has one)."""
    for draft in found.drafts(route, item):
        try:
            return draft_event(route, found.source, draft, now)
        except NoUsableLead:
            continue
    return None


def ingest_page(store: Store, config: Config, found: Reconciliation, route: Route,
                items: list[Any], now: float, via: str, *, dry_run: bool = False) -> Tally:
    """Store the page's leads not yet known (or, dry, only count them), through the one
    ingest path with the source's own twin check."""
    pairs = listed_events(found, route, items, now, via)
    tally = Tally(seen=len(items), failed=len(items) - len(pairs))
    done = ingest(store, route, [item for item, _ in pairs], now,
                  records=[event.to_fields() for _, event in pairs],
                  customer=config.customers[route.customer], ttl_s=config.dedup_ttl_s,
                  twins=found, dry_run=dry_run)
    tally.new, tally.known = done.accepted, done.duplicates
    tally.rules.update(rule for rule in done.known if rule)
    return tally


def backfill(config: Config, store: Store, found: Reconciliation, route: Route,
             streams: list[str], *, since: int, until: int, dry_run: bool,
             progress: Callable[[int], None] = lambda _: None) -> Tally:
    """List each stream's items created in [since, until) and ingest the unknown ones (dry:
    only count them). progress gets the seconds of the window covered since its last call.
    ValueError when the source cannot list that far back."""
    tally, now = Tally(), time.time()
    if why := found.backfill_refusal(since, now):
        raise ValueError(why)
    for stream in streams:
        covered = 0
        for page in found.listing(route, stream, since=since - 1, until=until):
            tally.add(ingest_page(store, config, found, route, page, now, "backfill",
                                  dry_run=dry_run))
            oldest = min((t for item in page if (t := found.created_at(item))), default=None)
            if oldest is not None and until - oldest > covered:
                progress(until - oldest - covered)
                covered = until - oldest
        progress(until - since - covered)
    return tally


class Reconciler:
    """Runs due reconciliations; one instance per worker thread (it owns its HTTP client)."""

    def __init__(self, config: Config, store: Store, *, clock: Callable[[], float] = time.time,
                 sources: dict[str, Reconciliation] | None = None,
                 page_size: int = defaults.RECONCILE_PAGE_SIZE):
        self.config, self.store, self.clock, self.page_size = config, store, clock, page_size
        self.sources = sources if sources is not None else {}

    def of(self, route: Route) -> Reconciliation:
        """The route's source's reconciliation (made once, kept for this thread)."""
        if route.source not in self.sources:
            made = reconciliation(route.source, self.config.mega.timeout_s)
            if made is None:
                raise ValueError(f"source {route.source} does not reconcile")
            self.sources[route.source] = made
        return self.sources[route.source]

    def close(self) -> None:
        """Close every source's client."""
        for found in self.sources.values():
            found.close()

    def due(self) -> list[Route]:
        """Routes whose next reconciliation time has come."""
        now = now_ms(self.clock)
        routes = reconciled_routes(self.config)
        due = self.store.reconciliations.next_at_ms([r.name for r in routes])
        return [r for r, at in zip(routes, due, strict=True) if at <= now]

    def tick(self) -> None:
        """Reconcile every due route this worker can lock."""
        for route in self.due():
            self.run(route)

    def run(self, route: Route) -> Tally | None:
        """One reconciliation of the route, or None when another worker is running it."""
        token = uuid.uuid4().hex
        state = self.store.reconciliations
        if not state.lock(route.name, token, int(defaults.RECONCILE_LOCK_S * 1000)):
            return None
        try:
            return self.locked_run(route, token)
        finally:
            state.release(route.name, token)

    def locked_run(self, route: Route, token: str) -> Tally | None:
        """List every stream from its watermark; record counts, or the error and a backoff
        (as long as the source asked, when it said: Google's RESOURCE_EXHAUSTED retryDelay)."""
        started = now_ms(self.clock)
        every_ms = ReconcileSettings.of(route.settings).reconcile_every_min * 60_000
        tally = Tally()
        try:
            for form in self.forms(route):
                tally.add(self.form(route, form, token))
        except LostLock:
            log.warning("reconciliation of %s: lock lost, left to its new holder", route.name)
            return None
        except SourceError as exc:
            failures = self.store.reconciliations.add_failure(route.name)
            wait_ms = int((exc.retry_after_s if exc.retry_after_s is not None
                           else retry_in_s(failures)) * 1000)
            self.store.reconciliations.update(route.name, {
                "last_run_ms": started, "last_error": str(exc)[:300],
                "last_error_kind": exc.kind, "next_at_ms": started + wait_ms})
            log.warning("reconciliation of %s failed (%s), retry in %.0fs", route.name,
                        exc.kind, wait_ms / 1000)
            return None
        self.record_run(route, tally, started, every_ms)
        return tally

    def record_run(self, route: Route, tally: Tally, started: int, every_ms: int) -> None:
        """A finished run, for status and alerts (its leads were counted page by page)."""
        self.store.reconciliations.update(route.name, {
            "last_run_ms": started, "last_ok_ms": started, "last_seen": tally.seen,
            "last_missed": tally.new, "failures": 0, "last_error": "", "last_error_kind": "",
            "next_at_ms": started + every_ms})
        if tally.new:
            log.warning("reconciliation of %s recovered %d lead(s) the webhook missed",
                        route.name, tally.new)

    def count(self, route: Route, page: Tally) -> None:
        """A page's leads in the route's totals and metrics, as soon as they are stored, so a
        run that fails later still counts what it recovered (and only once: the next run
        finds those leads known)."""
        self.store.reconciliations.count(route.name, page.seen, page.new, dict(page.rules))
        metrics = self.store.metrics
        metrics.inc("leadgate_reconcile_leads", page.seen - page.new, route=route.name,
                    result="known")
        metrics.inc("leadgate_reconcile_leads", page.new, route=route.name, result="missed")

    def forms(self, route: Route) -> list[str]:
        """The route's streams, each with its own watermark (Meta: its forms)."""
        return self.of(route).streams(route)

    def form(self, route: Route, form: str, token: str) -> Tally:
        """List one form since its watermark (minus the overlap); move the watermark after."""
        now = self.clock()
        until = int(now) - ReconcileSettings.of(route.settings).reconcile_grace_s
        mark = self.store.reconciliations.watermark(route.name, form)
        since = mark if mark is not None else until
        tally = Tally()
        for page in self.listing(route, form, since - defaults.RECONCILE_OVERLAP_S, until,
                                 token):
            found = ingest_page(self.store, self.config, self.of(route), route, page, now,
                                "reconcile")
            self.count(route, found)
            tally.add(found)
        self.store.reconciliations.move_watermark(route.name, form, token, until)
        return tally

    def listing(self, route: Route, form: str, since: int, until: int, token: str
                ) -> Iterator[list[dict[str, Any]]]:
        """The stream's pages, the lock renewed before each call to the source."""
        ttl_ms = int(defaults.RECONCILE_LOCK_S * 1000)
        pages = self.of(route).listing(route, form, since=since, until=until,
                                       page_size=self.page_size)
        while True:
            if not self.store.reconciliations.renew(route.name, token, ttl_ms):
                raise LostLock(f"the reconciliation lock of {route.name} was lost")
            page = next(pages, None)
            if page is None:
                return
            yield page


class LostLock(Exception):
    """Another worker took over the route's reconciliation (this one was too slow)."""
