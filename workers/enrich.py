"""Enrichment before a batch is frozen: the step a source declares (Meta: Graph lookups).

A route whose access fails as a whole (token invalid or expired, permission revoked, a 404
for the whole call) is held on its own: its events are set aside and retried every
CREDENTIALS_RETRY_S while the customer's other leads go on. Only a lead the source says does
not exist becomes a dead letter.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gateway import defaults
from gateway.config import Route
from gateway.records import Batch, now_ms
from gateway.sources import SOURCES
from workers.meta.graph import GraphError
from workers.outcomes import Outcomes, unavailable

if TYPE_CHECKING:
    from workers.flush import Flush

log = logging.getLogger("leadgate.worker")
HOLD_KINDS = ("token", "permission")
Events = list[dict[str, str]]
Parking = dict[str, tuple[list[str], int, str]]


def enrich(flush: Flush, batch: Batch, events: Events) -> tuple[int, Events]:
    """Run the sources' steps for events that need one: (hold-until ms, events left)."""
    needs: dict[str, Events] = {}
    for event in events:
        if event.get("enrich") and not event.get("lead"):
            needs.setdefault(event["route"], []).append(event)
    if not needs:
        return 0, events
    found: dict[str, dict[str, str]] = {}
    gone: Outcomes = {}
    parking: Parking = {}
    held = flush.store.parked_routes(flush.name)
    for route_name, group in needs.items():
        route = flush.ctx.config.routes.get(route_name)
        step = SOURCES[route.source].enrichment if route and route.source in SOURCES else None
        if route is None or step is None:
            gone.update(unavailable(group, f"route {route_name!r} is no longer configured"))
        elif route_name in held:          # still held: do not ask again yet
            parking[route_name] = ([e["id"] for e in group], *held[route_name])
        else:
            run_step(flush, route, group, found, gone, parking)
    return settle(flush, batch, events, found, gone, parking)


def run_step(flush: Flush, route: Route, group: Events, found: dict[str, dict[str, str]],
             gone: Outcomes, parking: Parking) -> None:
    """One route's step; a failure of the whole route parks the route."""
    step = SOURCES[route.source].enrichment
    assert step is not None

    def fetch(base_url: str, token: str, ids: list[str]) -> object:
        return flush.ctx.graph.fetch(base_url, token, ids,
                                     before_call=lambda: flush.lease.renew(lease_s=flush.lease_s))

    try:
        enriched = step.run(route, group, fetch)
    except GraphError as exc:
        if exc.kind not in HOLD_KINDS:
            raise                          # throttled, unavailable: the batch retries
        until = now_ms(flush.ctx.clock) + int(defaults.CREDENTIALS_RETRY_S * 1000)
        reason = f"meta {exc.kind} of route {route.name}: {exc}"
        log.warning("leads of route %s held: %s", route.name, reason)
        parking[route.name] = ([e["id"] for e in group], until, reason)
        return
    found.update(enriched.records)
    gone.update({eid: {"status": "dead", "dead_reason": "lead_unavailable", "error": why}
                 for eid, why in enriched.gone.items()})


def settle(flush: Flush, batch: Batch, events: Events, found: dict[str, dict[str, str]],
           gone: Outcomes, parking: Parking) -> tuple[int, Events]:
    """Store the leads found, park held routes, dead-letter gone leads: the events left."""
    parked = {eid for ids, _, _ in parking.values() for eid in ids}
    flush.lease.set_events(found)
    if flush.store.index:       # the console's contact search: Meta's contact is known now
        flush.store.index.add_contacts(flush.store.redis, [
            {**e, **found[e["id"]]} for e in events if e["id"] in found], now_ms(flush.ctx.clock))
    if parked:
        batch.ids = [eid for eid in batch.ids if eid not in parked]
        flush.lease.park(parking, batch.ids)
    if gone:
        batch.ids = [eid for eid in batch.ids if eid not in gone]
        flush.finish(gone, remaining=batch.ids)
    left = [{**e, **found.get(e["id"], {})} for e in events]
    return 0, [e for e in left if e["id"] not in gone and e["id"] not in parked]
