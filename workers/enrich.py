"""Enrichment before a batch is frozen: the step a source declares (Meta: Graph lookups).

It finds and writes nothing. It returns what it found (fields to store per event), which
leads are gone and why (only a lead the source says does not exist), and what must be held:
a route whose access fails as a whole (the source's error says so: `route_wide`) is set aside
and retried every CREDENTIALS_RETRY_S while the customer's other leads go on. The flush
applies all of it through its lease.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from gateway import defaults
from gateway.config import Route
from gateway.errors import SourceError
from gateway.sources import SOURCES
from gateway.sources.enrichment import Events, Fetch

log = logging.getLogger("leadgate.worker")
Held = dict[str, tuple[list[str], int, str]]      # route -> (event ids, until ms, why)


@dataclass
class Found:
    """What enrichment found: fields per event, the events whose lead is gone, routes to
    hold."""

    records: dict[str, dict[str, str]] = field(default_factory=dict)
    gone: dict[str, str] = field(default_factory=dict)     # event id -> why
    held: Held = field(default_factory=dict)

    def left(self, events: Events) -> Events:
        """The events to send on, with what was found merged in."""
        parked = {eid for ids, _, _ in self.held.values() for eid in ids}
        return [replace(e, extra={**e.extra, **self.records.get(e.id, {})}) for e in events
                if e.id not in self.gone and e.id not in parked]


def enrich(events: Events, *, routes: Mapping[str, Route], held: dict[str, tuple[int, str]],
           fetch_for: Callable[[str], Fetch | None], now_ms: int) -> Found:
    """Run the sources' steps for the events that need one, route by route."""
    found = Found()
    for route_name, group in needing(events).items():
        route = routes.get(route_name)
        step = SOURCES[route.source].enrichment if route and route.source in SOURCES else None
        fetch = fetch_for(route.source) if route else None
        if route is None or step is None or fetch is None:
            found.gone.update(dict.fromkeys((e.id for e in group),
                                            f"route {route_name!r} is no longer configured"))
        elif route_name in held:          # still held: do not ask again yet
            found.held[route_name] = ([e.id for e in group], *held[route_name])
        else:
            run_step(route, group, fetch, found, now_ms)
    return found


def needing(events: Events) -> dict[str, Events]:
    """The events a source's step must complete, by route."""
    needs: dict[str, Events] = {}
    for event in events:
        if event.extra.get("enrich") and not event.lead:
            needs.setdefault(event.route, []).append(event)
    return needs


def run_step(route: Route, group: Events, fetch: Fetch, found: Found, now_ms: int) -> None:
    """One route's step; a failure of the whole route holds the route."""
    step = SOURCES[route.source].enrichment
    assert step is not None
    try:
        enriched = step.run(route, group, fetch)
    except SourceError as exc:
        if not exc.route_wide:
            raise                          # throttled, unavailable: the batch retries
        until = now_ms + int(defaults.CREDENTIALS_RETRY_S * 1000)
        reason = f"{exc.reason.replace('_', ' ')} of route {route.name}: {exc}"
        log.warning("leads of route %s held: %s", route.name, reason)
        found.held[route.name] = ([e.id for e in group], until, reason)
        return
    found.records.update(enriched.records)
    found.gone.update(enriched.gone)
