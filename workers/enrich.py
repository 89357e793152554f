"""Preparing a batch before it is frozen: the step a source declares (Meta: Graph lookups),
what it found applied, then the exact bytes and key fixed.

`enrich` finds and writes nothing. It returns what it found (fields to store per event), which
leads are gone and why (only a lead the source says does not exist), and what must be held:
a route whose access fails as a whole (the source's error says so: `route_wide`) is set aside
and retried every CREDENTIALS_RETRY_S while the customer's other leads go on. `prepare`
applies all of it through the flush's lease, which `Prep` hands it with the rest it needs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from gateway import defaults
from gateway.config import Customer, Route
from gateway.domain import policy
from gateway.domain.event import Outcome
from gateway.domain.records import Batch, Outcomes, now_ms
from gateway.domain.sources import SOURCES
from gateway.domain.sources.enrichment import Events, Fetch
from gateway.errors import SourceError
from gateway.store.lease import Lease
from gateway.store.store import Store

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
        kept = set(self.kept([e.id for e in events]))
        return [replace(e, extra={**e.extra, **self.records.get(e.id, {})}) for e in events
                if e.id in kept]

    def unheld(self, ids: list[str]) -> list[str]:
        """The batch's ids without the held."""
        parked = {eid for held, _, _ in self.held.values() for eid in held}
        return [eid for eid in ids if eid not in parked]

    def kept(self, ids: list[str]) -> list[str]:
        """The batch's ids without the held and the gone."""
        return [eid for eid in self.unheld(ids) if eid not in self.gone]

    def outcomes(self) -> Outcomes:
        """Leads the source cannot give (deleted at Meta): dead letters with its word."""
        return {eid: Outcome("dead", dead_reason="lead_unavailable", error=why)
                for eid, why in self.gone.items()}


@dataclass(frozen=True)
class Prep:
    """What preparing a batch needs from its flush: the lease it writes through, the store
    (held routes, the contact index), the routes, each source's fetch, and how gone leads
    are finished (recorded and counted as the flush records every outcome)."""

    customer: Customer
    lease: Lease
    store: Store
    routes: Mapping[str, Route]
    fetch_for: Callable[[str], Fetch | None]
    finish: Callable[[Outcomes, list[str]], None]      # (outcomes, the batch's remaining ids)
    clock: Callable[[], float]


def prepare(batch: Batch, events: Events, prep: Prep) -> Events:
    """Enrich what a source asks for; keep the batch to the events left, frozen (exact bytes
    and key) unless an import's rows must travel apart; then write it all through the lease:
    the events to send ([]: none now)."""
    found = enrich(events, routes=prep.routes, held=prep.store.parked_routes(prep.customer.name),
                   fetch_for=prep.fetch_for, now_ms=now_ms(prep.clock))
    left, ids = found.left(events), batch.ids
    batch.ids = found.kept(ids)
    alike = policy.alike_prefix(left) if left else 0
    if left and alike == len(left):
        freeze(batch, left, prep.customer, now_ms(prep.clock))
    write_found(found, events, ids, prep)
    if alike < len(left):
        prep.lease.split(batch, head=alike)     # an import's rows travel apart: go on
        return []
    if left:
        prep.lease.freeze(batch)
    return left


def write_found(found: Found, events: Events, ids: list[str], prep: Prep) -> None:
    """Store the leads found, hold the held routes, dead-letter the gone (`ids`: the batch's
    before; each write leaves the batch with what is still to send or finish)."""
    if found.records:
        prep.store.add_contacts([{**e.to_fields(), **found.records[e.id]} for e in events
                                 if e.id in found.records], now_ms(prep.clock))
        prep.lease.set_events(found.records)
    if found.held:
        prep.lease.park(found.held, found.unheld(ids))
    if found.gone:
        prep.finish(found.outcomes(), found.kept(ids))


def freeze(batch: Batch, events: Events, customer: Customer, now: int) -> None:
    """Fix the exact bytes and key before the first send; retries reuse them."""
    batch.endpoint = policy.endpoint_for(customer, len(events),
                                         bulk_only=policy.bulk_only(events))
    batch.key = policy.idempotency_key(batch.endpoint, events)
    batch.body = policy.request_body(customer, batch.endpoint, events)
    batch.key_since = now


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
