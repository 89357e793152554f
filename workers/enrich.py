"""Enrichment before a batch is frozen: Meta's webhooks name leads by id only.

A route whose Graph access fails as a whole (token invalid or expired, permission revoked,
a 404 for the whole call) is held on its own: its events are set aside and retried every
CREDENTIALS_RETRY_S while the customer's other leads go on. Only a lead Meta says does not
exist becomes a dead letter.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from gateway import defaults
from gateway.config import Route
from gateway.errors import NoUsableLead
from gateway.leads import lead_record
from gateway.records import Batch, now_ms
from gateway.sources import SOURCES
from gateway.sources.meta import lead_draft
from workers.graph import GraphError
from workers.outcomes import Outcomes, unavailable

if TYPE_CHECKING:
    from workers.flush import Flush

log = logging.getLogger("leadgate.worker")
HOLD_KINDS = ("token", "permission")
Events = list[dict[str, str]]
Parking = dict[str, tuple[list[str], int, str]]


def enrich(flush: Flush, batch: Batch, events: Events) -> tuple[int, Events]:
    """Fetch the lead data of events that need it: (hold-until ms, events left)."""
    needs: dict[str, Events] = {}
    for event in events:
        if event.get("enrich") and not event.get("lead"):
            needs.setdefault(event["route"], []).append(event)
    if not needs:
        return 0, events
    gone: Outcomes = {}
    parking: Parking = {}
    held = flush.store.parked_routes(flush.name)
    for route_name, group in needs.items():
        route = flush.ctx.config.routes.get(route_name)
        if route is None or route.source != "meta_lead_ads":
            gone.update(unavailable(group, f"route {route_name!r} is no longer configured"))
        elif route_name in held:          # still held: do not ask Meta again yet
            parking[route_name] = ([e["id"] for e in group], *held[route_name])
        else:
            fetch_route(flush, route, group, gone, parking)
    return settle(flush, batch, events, needs, gone, parking)


def fetch_route(flush: Flush, route: Route, group: Events, gone: Outcomes,
                parking: Parking) -> None:
    """One route's leads from Graph; a route-wide failure parks the route."""
    try:
        fetched = flush.ctx.graph.fetch(
            route.settings["graph_api_url"], route.settings["page_access_token"],
            [e["provider_id"] for e in group],
            before_call=lambda: flush.lease.renew(lease_s=flush.lease_s))
    except GraphError as exc:
        if exc.kind not in HOLD_KINDS:
            raise                          # throttled, unavailable: the batch retries
        until = now_ms(flush.ctx.clock) + int(defaults.CREDENTIALS_RETRY_S * 1000)
        reason = f"meta {exc.kind} of route {route.name}: {exc}"
        log.warning("leads of route %s held: %s", route.name, reason)
        parking[route.name] = ([e["id"] for e in group], until, reason)
        return
    for event in group:
        lead_id = event["provider_id"]
        if lead_id in fetched.gone:
            gone.update(unavailable([event], fetched.gone[lead_id]))
            continue
        try:
            event.update(enriched(route, event, fetched.leads.get(lead_id)))
        except (NoUsableLead, LookupError) as exc:
            gone.update(unavailable([event], str(exc)))


def settle(flush: Flush, batch: Batch, events: Events, needs: dict[str, Events],
           gone: Outcomes, parking: Parking) -> tuple[int, Events]:
    """Store the fetched leads, park held routes, dead-letter gone leads: the events left."""
    parked = {eid for ids, _, _ in parking.values() for eid in ids}
    flush.lease.set_events({e["id"]: {k: e[k] for k in ("lead", "warnings", "unmapped")}
                            for group in needs.values() for e in group
                            if e["id"] not in gone and e["id"] not in parked})
    if parked:
        batch.ids = [eid for eid in batch.ids if eid not in parked]
        flush.lease.park(parking, batch.ids)
    if gone:
        batch.ids = [eid for eid in batch.ids if eid not in gone]
        flush.finish(gone, remaining=batch.ids)
    return 0, [e for e in events if e["id"] not in gone and e["id"] not in parked]


def enriched(route: Route, event: dict[str, str], lead: dict[str, Any] | None) -> dict[str, str]:
    """The stored lead of a Meta event, from its webhook fields and the Graph lead object."""
    if lead is None:
        raise LookupError("the Graph API returned no lead for this id")
    draft = lead_draft(event["provider_id"], json.loads(event.get("fields") or "{}"), lead)
    return lead_record(route, SOURCES[route.source].lead_defaults, draft)
