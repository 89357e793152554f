"""One flush: own a customer's lease, deliver its batches, record outcomes, hand it back."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from gateway import defaults
from gateway.config import Customer, Route
from gateway.errors import (
    DeliveryError,
    MegaBadRequest,
    MegaConflict,
    MegaCredentialsError,
    MegaRateLimited,
    MegaUnavailable,
    NoUsableLead,
)
from gateway.leads import lead_record
from gateway.sources import SOURCES
from gateway.sources.meta import lead_draft
from gateway.store import Batch, now_ms
from workers import policy
from workers.context import WorkerContext
from workers.graph import GraphError
from workers.mega import MegaResponse, RateInfo

log = logging.getLogger("leadgate.worker")
Outcomes = dict[str, dict[str, str]]


class Flush:
    def __init__(self, ctx: WorkerContext, customer: Customer, token: str):
        self.ctx, self.customer, self.token = ctx, customer, token
        self.store, self.name = ctx.store, customer.name

    def run(self) -> None:
        """Deliver until the buffer is empty, a hold is needed, or the time budget is spent."""
        deadline = self.ctx.clock() + defaults.FLUSH_BUDGET_S
        hold = 0
        try:
            self.unpark_due()
            lease_s = policy.lease_s(self.ctx.config.mega["timeout_s"])
            while self.store.renew(self.name, self.token, lease_s=lease_s):
                batch = self.store.take(self.name, policy.take_size(self.customer))
                if batch is None:
                    break
                hold, more = self.deliver(batch)
                if hold or not more or self.ctx.clock() > deadline or self.ctx.stopping.is_set():
                    break
            else:
                return  # the lease was lost: whoever holds it now carries on
        except Exception as exc:  # a bug or Redis trouble: back off, the batch stays frozen
            log.exception("flush of %s failed: %s", self.name, type(exc).__name__)
            hold = now_ms(self.ctx.clock) + int(policy.backoff_s(3) * 1000)
        self.store.release(self.customer, self.token, hold_until_ms=hold,
                           wake_at_ms=self.next_unpark())

    def deliver(self, batch: Batch) -> tuple[int, bool]:
        """Send one batch: (hold-until ms or 0, whether to go on with the next batch)."""
        events = self.store.events(batch.ids)
        if not batch.body:
            hold, events = self.enrich(batch, events)
            if hold:
                return hold, False
            if not events:
                return 0, True
            if (alike := policy.alike_prefix(events)) < len(events):   # imports travel apart
                self.store.split(self.name, batch, head=alike)
                return 0, True
            self.freeze(batch, events)
        if waiting := self.rate_wait(batch.endpoint):
            return waiting, False
        started = time.perf_counter()
        try:
            response = self.ctx.mega.send(self.customer, batch.endpoint, batch.body, batch.key)
        except DeliveryError as exc:
            self.mega_call(batch, exc.status, started, type(exc).__name__, str(exc))
            self.note_rate(exc.endpoint, exc.rate)
            return self.failed(batch, events, exc)
        self.mega_call(batch, response.status, started, "ok")
        self.note_rate(batch.endpoint, response.rate)
        self.finish(outcomes(batch, events, response), events)
        self.store.set_customer_state(self.name, blocked=None, last_error=None,
                                      hold_reason=None, last_success_at=now_ms(self.ctx.clock))
        return 0, len(batch.ids) >= policy.take_size(self.customer)

    def mega_call(self, batch: Batch, status: int | None, started: float, outcome: str,
                  error: str = "") -> None:
        """One log line and one count per MEGA request."""
        seconds = time.perf_counter() - started
        code = str(status) if status else "no_answer"
        self.store.metrics.inc("leadgate_mega_requests", endpoint=batch.endpoint, code=code)
        log.info("mega call", extra={
            "customer": self.name, "endpoint": batch.endpoint, "rows": len(batch.ids),
            "key": batch.key, "status": code, "outcome": outcome, "error": error or None,
            "attempt": batch.attempts + 1, "duration_ms": round(seconds * 1000, 1)})

    def finish(self, result: Outcomes, events: list[dict[str, str]] | None = None, *,
               remaining: list[str] | None = None) -> None:
        """Record terminal outcomes (and count them)."""
        self.store.finish(self.name, result, self.ctx.config.dedup_ttl_s, remaining=remaining)
        received = {e["id"]: int(e.get("received_at") or 0) for e in events or []}
        now = now_ms(self.ctx.clock)
        metrics = self.store.metrics
        for eid, outcome in result.items():
            if outcome["status"] == "delivered":
                metrics.inc("leadgate_leads_delivered", customer=self.name,
                            status=outcome.get("outcome", ""))
                if received.get(eid):
                    metrics.observe("leadgate_delivery_seconds",
                                    max(0.0, (now - received[eid]) / 1000), customer=self.name)
            else:
                metrics.inc("leadgate_leads_dead", customer=self.name,
                            reason=outcome.get("dead_reason", ""))

    def unpark_due(self) -> None:
        """Routes whose hold has run out: their events go back to the front of the queue."""
        now = now_ms(self.ctx.clock)
        for route, (until, _) in self.store.parked_routes(self.name).items():
            if until <= now:
                self.store.unpark(self.name, route)

    def next_unpark(self) -> int:
        """When the earliest held route is to be tried again (0: none is held)."""
        return min((until for until, _ in self.store.parked_routes(self.name).values()),
                   default=0)

    def enrich(self, batch: Batch, events: list[dict[str, str]]
               ) -> tuple[int, list[dict[str, str]]]:
        """Fetch the lead data of Meta events (only ids arrived): (hold-until ms, events left).

        A route whose page token Meta refuses is held on its own: its events are set aside
        and retried every CREDENTIALS_RETRY_S, while the customer's other leads go on."""
        needs: dict[str, list[dict[str, str]]] = {}
        for event in events:
            if event.get("enrich") and not event.get("lead"):
                needs.setdefault(event["route"], []).append(event)
        if not needs:
            return 0, events
        gone: Outcomes = {}
        parking: dict[str, tuple[list[str], int, str]] = {}
        held = self.store.parked_routes(self.name)
        for route_name, group in needs.items():
            route = self.ctx.config.routes.get(route_name)
            if route is None or route.source != "meta_lead_ads":
                gone.update(unavailable(group, f"route {route_name!r} is no longer configured"))
                continue
            if route_name in held:          # still held: do not ask Meta again yet
                parking[route_name] = ([e["id"] for e in group], *held[route_name])
                continue
            try:
                fetched = self.ctx.graph.fetch(route.settings["graph_api_url"],
                                               route.settings["page_access_token"],
                                               [e["provider_id"] for e in group])
            except GraphError as exc:
                if exc.kind != "token":
                    return self.graph_failed(batch, exc, route_name), events
                until = now_ms(self.ctx.clock) + int(defaults.CREDENTIALS_RETRY_S * 1000)
                reason = f"meta token of route {route_name}: {exc}"
                log.warning("leads of route %s held: %s", route_name, reason)
                parking[route_name] = ([e["id"] for e in group], until, reason)
                continue
            for event in group:
                lead_id = event["provider_id"]
                if lead_id in fetched.gone:
                    gone.update(unavailable([event], fetched.gone[lead_id]))
                    continue
                try:
                    event.update(enriched(route, event, fetched.leads.get(lead_id)))
                except (NoUsableLead, LookupError) as exc:
                    gone.update(unavailable([event], str(exc)))
        parked = {eid for ids, _, _ in parking.values() for eid in ids}
        self.store.set_events_each({e["id"]: {k: e[k] for k in ("lead", "warnings", "unmapped")}
                                    for group in needs.values() for e in group
                                    if e["id"] not in gone and e["id"] not in parked})
        if parked:
            batch.ids = [eid for eid in batch.ids if eid not in parked]
            self.store.park(self.name, parking, batch.ids)
        if gone:
            batch.ids = [eid for eid in batch.ids if eid not in gone]
            self.finish(gone, remaining=batch.ids)
        return 0, [e for e in events if e["id"] not in gone and e["id"] not in parked]

    def graph_failed(self, batch: Batch, exc: GraphError, route: str) -> int:
        """Graph throttling or trouble: the batch waits with backoff, as for MEGA's 5xx."""
        now = now_ms(self.ctx.clock)
        hold, _ = self.retry_later(batch, exc, now, hold_reason=f"meta_{exc.kind}")
        return hold or now     # expired events are dead letters now: go on at once

    def freeze(self, batch: Batch, events: list[dict[str, str]]) -> None:
        """Fix the exact bytes and key before the first send; retries reuse them."""
        batch.endpoint = policy.endpoint_for(self.customer, len(events), bulk_only=any(
            e.get("bulk_only") for e in events))
        batch.key = policy.idempotency_key(batch.endpoint, events)
        batch.body = policy.request_body(self.customer, batch.endpoint, events)
        self.store.freeze(self.name, batch)

    def failed(self, batch: Batch, events: list[dict[str, str]],
               exc: DeliveryError) -> tuple[int, bool]:
        now = now_ms(self.ctx.clock)
        if isinstance(exc, MegaRateLimited):
            self.store.set_customer_state(self.name, hold_reason="rate_limited")
            return now + int(exc.retry_after_s * 1000), False
        if isinstance(exc, MegaCredentialsError):
            self.store.set_customer_state(self.name, blocked=f"credentials: {exc}",
                                          hold_reason="credentials", last_error=str(exc))
            return now + int(defaults.CREDENTIALS_RETRY_S * 1000), False
        if isinstance(exc, MegaBadRequest) and len(batch.ids) > 1:
            self.store.split(self.name, batch)
            return 0, True
        if isinstance(exc, MegaBadRequest | MegaConflict):
            reason = "conflict" if isinstance(exc, MegaConflict) else "rejected"
            self.finish(dead(batch.ids, reason, exc))
            return 0, True
        assert isinstance(exc, MegaUnavailable)
        return self.retry_later(batch, exc, now)

    def retry_later(self, batch: Batch, exc: Exception, now: int, *,
                    hold_reason: str = "retrying") -> tuple[int, bool]:
        """5xx, timeout, connection error: same bytes and key later, or expire past max age."""
        attempts = self.store.count_attempt(self.name, batch, str(exc))
        max_age_ms = self.ctx.config.mega["max_age_hours"] * 3_600_000
        if now - batch.created > max_age_ms:
            self.finish(dead(batch.ids, "expired", exc))
            return 0, True
        self.store.set_customer_state(self.name, hold_reason=hold_reason, last_error=str(exc))
        return now + int(policy.backoff_s(attempts) * 1000), False

    def rate_wait(self, endpoint: str) -> int:
        """When MEGA said no calls remain in this window: the reset time, else 0."""
        state = self.store.customer_state(self.name)
        remaining = state.get(f"rl:{endpoint}:remaining")
        reset_at = int(state.get(f"rl:{endpoint}:reset_at", "0"))
        if remaining == "0" and reset_at > now_ms(self.ctx.clock):
            self.store.set_customer_state(self.name, hold_reason="rate_limited")
            return reset_at
        return 0

    def note_rate(self, endpoint: str, rate: Any) -> None:
        if not isinstance(rate, RateInfo) or rate.remaining is None or not endpoint:
            return
        reset_at = now_ms(self.ctx.clock) + int((rate.reset_s or 0) * 1000)
        self.store.set_customer_state(self.name, **{f"rl:{endpoint}:remaining": rate.remaining,
                                                    f"rl:{endpoint}:reset_at": reset_at})


def outcomes(batch: Batch, events: list[dict[str, str]], response: MegaResponse) -> Outcomes:
    """Each event's terminal record from MEGA's answer."""
    if batch.endpoint == "single":
        (event,) = events
        lead = response.body.get("lead") or {}
        outcome = {"status": "delivered", "outcome": "created", "endpoint": "single",
                   "lead_id": str(lead.get("id", "")), "mega_status": str(response.status)}
        if dropped := policy.single_drops(event.get("lead", "{}")):
            outcome["delivery_warning"] = f"not sent by a single create: {', '.join(dropped)}"
        return {event["id"]: outcome}
    rows = {r.get("row_ref"): r for r in response.body.get("results", [])}
    result: Outcomes = {}
    for eid in batch.ids:
        row = rows.get(eid)
        if row is None:
            result[eid] = {"status": "dead", "dead_reason": "rejected", "endpoint": "bulk",
                           "error": "MEGA's answer has no result for this row"}
        elif row.get("status") == "failed":
            result[eid] = {"status": "dead", "dead_reason": "rejected", "endpoint": "bulk",
                           "error": "; ".join(row.get("errors") or ["failed"]),
                           "mega_status": str(response.status)}
        else:
            result[eid] = {"status": "delivered", "outcome": str(row.get("status")),
                           "endpoint": "bulk", "lead_id": str(row.get("lead_id") or ""),
                           "matched_by": str(row.get("matched_by") or ""),
                           "ignored_custom_fields": json.dumps(
                               row.get("ignored_custom_fields") or []),
                           "mega_status": str(response.status)}
    return result


def dead(ids: list[str], reason: str, exc: Exception) -> Outcomes:
    status, body = getattr(exc, "status", None), getattr(exc, "body", None)
    text = json.dumps(body)[:2000] if body is not None else ""
    return {eid: {"status": "dead", "dead_reason": reason, "error": str(exc),
                  "mega_status": str(status or ""), "mega_body": text} for eid in ids}


def unavailable(events: list[dict[str, str]], why: str) -> Outcomes:
    """Meta leads that cannot be read (deleted, no permission): dead letters with Meta's word."""
    return {e["id"]: {"status": "dead", "dead_reason": "lead_unavailable", "error": why}
            for e in events}


def enriched(route: Route, event: dict[str, str], lead: dict[str, Any] | None) -> dict[str, str]:
    """The stored lead of a Meta event, from its webhook fields and the Graph lead object."""
    if lead is None:
        raise LookupError("the Graph API returned no lead for this id")
    draft = lead_draft(event["provider_id"], json.loads(event.get("fields") or "{}"), lead)
    return lead_record(route, SOURCES[route.source].lead_defaults, draft)
