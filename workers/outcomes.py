"""MEGA's answer applied: each event's terminal record (from the answer, or from a failure),
and the flush's writes for each decision of the policy, through its lease."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable

from gateway.config import Config, Customer
from gateway.domain import policy
from gateway.domain.event import Event, Outcome
from gateway.domain.records import Batch, Outcomes, now_ms
from gateway.errors import DeliveryError
from gateway.mega.client import MegaResponse, RateInfo
from gateway.store.lease import Lease
from gateway.store.store import Store

log = logging.getLogger("leadgate.worker")


def outcomes(batch: Batch, events: list[Event], response: MegaResponse) -> Outcomes:
    """Each event's terminal record from MEGA's answer."""
    if batch.endpoint == "single":
        (event,) = events
        lead = response.body.get("lead") or {}
        dropped = policy.single_drops(event.lead or "{}")
        warning = f"not sent by a single create: {', '.join(dropped)}" if dropped else None
        return {event.id: Outcome("delivered", endpoint="single", outcome="created",
                                  lead_id=str(lead.get("id", "")), delivery_warning=warning,
                                  mega_status=str(response.status))}
    rows = {r.get("row_ref"): r for r in response.body.get("results", [])}
    return {eid: bulk_row(rows.get(eid), response.status) for eid in batch.ids}


def bulk_row(row: dict[str, object] | None, status: int) -> Outcome:
    """One event's record from its row of a bulk answer."""
    if row is None:
        return Outcome("dead", dead_reason="rejected", endpoint="bulk",
                       error="MEGA's answer has no result for this row")
    if row.get("status") == "failed":
        errors = row.get("errors")
        return Outcome("dead", dead_reason="rejected", endpoint="bulk",
                       error="; ".join(map(str, errors)) if isinstance(errors, list)
                       else "failed", mega_status=str(status))
    return Outcome("delivered", endpoint="bulk", outcome=str(row.get("status")),
                   lead_id=str(row.get("lead_id") or ""),
                   matched_by=str(row.get("matched_by") or ""),
                   ignored_custom_fields=json.dumps(row.get("ignored_custom_fields") or []),
                   mega_status=str(status))


def dead(ids: list[str], reason: str, exc: Exception | None) -> Outcomes:
    """Dead letters with the reason and what MEGA said."""
    status, body = getattr(exc, "status", None), getattr(exc, "body", None)
    text = json.dumps(body)[:2000] if body is not None else ""
    return {eid: Outcome("dead", dead_reason=reason, error=str(exc or reason),
                         mega_status=str(status or ""), mega_body=text) for eid in ids}



class Apply:
    """MEGA's answer (or a decision taken without one) written through the flush's lease:
    terminal records, holds, splits, retries, counted in the metrics."""

    def __init__(self, store: Store, lease: Lease, customer: Customer, config: Config, *,
                 clock: Callable[[], float]):
        self.store, self.lease, self.customer, self.clock = store, lease, customer, clock
        self.name, self.dedup_ttl_s = customer.name, config.dedup_ttl_s
        self.retention_ms = int(config.mega["key_retention_hours"] * 3_600_000)

    def answer(self, batch: Batch, events: list[Event], decision: policy.Decision,
               answer: MegaResponse | DeliveryError | None, started: float
               ) -> tuple[int, bool]:
        """The policy's decision applied, with the MEGA call it was taken on recorded (None:
        taken before any call): (hold-until ms or 0, go on)."""
        failure = answer if isinstance(answer, DeliveryError) else None
        if answer is not None:
            self.mega_call(batch, answer, started)
        now = now_ms(self.clock)
        if decision.action == "deliver" and isinstance(answer, MegaResponse):
            self.finish(outcomes(batch, events, answer), events, sent=batch)
            self.lease.set_state(blocked=None, last_error=None, hold_reason=None,
                                 last_success_at=now)
            return 0, len(batch.ids) >= policy.take_size(self.customer)
        return self.settle(batch, decision, failure, now)

    def settle(self, batch: Batch, decision: policy.Decision, failure: Exception | None,
               now: int) -> tuple[int, bool]:
        """Every decision but deliver: wait, hold, split, dead letter, retry later."""
        error = str(failure) if failure else ""
        if decision.attempt:
            self.lease.count_attempt(batch, error)
        if decision.action == "dead":
            self.finish(dead(batch.ids, decision.reason, failure), sent=batch)
            return 0, True
        if decision.action == "split":
            self.lease.split(batch)
            return 0, True
        if decision.action == "hold":
            self.lease.set_state(blocked=f"credentials: {error}", hold_reason=decision.reason,
                                 last_error=error)
        elif decision.action == "retry":
            self.lease.set_state(hold_reason=decision.reason, last_error=error)
        else:
            self.lease.set_state(hold_reason=decision.reason)
        return now + decision.wait_ms, False

    def finish(self, result: Outcomes, events: list[Event] | None = None, *,
               remaining: list[str] | None = None, sent: Batch | None = None) -> None:
        """Record terminal outcomes (and count them)."""
        self.lease.finish(result, self.dedup_ttl_s, remaining=remaining,
                          sent=sent if sent is not None and sent.body else None,
                          retention_ms=self.retention_ms)
        received = {e.id: e.received_at for e in events or []}
        now = now_ms(self.clock)
        metrics = self.store.metrics
        for eid, outcome in result.items():
            if outcome.delivered:
                metrics.inc("leadgate_leads_delivered", customer=self.name,
                            status=outcome.outcome or "")
                if received.get(eid):
                    metrics.observe("leadgate_delivery_seconds",
                                    max(0.0, (now - received[eid]) / 1000), customer=self.name)
            else:
                metrics.inc("leadgate_leads_dead", customer=self.name,
                            reason=outcome.dead_reason or "")

    def mega_call(self, batch: Batch, answer: MegaResponse | DeliveryError,
                  started: float) -> None:
        """One log line, one count and one timeline entry per MEGA request; the rate budget
        it reported."""
        seconds = time.perf_counter() - started
        failure = answer if isinstance(answer, DeliveryError) else None
        code = str(answer.status) if answer.status else "no_answer"
        outcome, error = (type(failure).__name__, str(failure)) if failure else ("ok", "")
        self.store.metrics.inc("leadgate_mega_requests", endpoint=batch.endpoint, code=code)
        log.info("mega call", extra={
            "customer": self.name, "endpoint": batch.endpoint, "rows": len(batch.ids),
            "key": batch.key, "status": code, "outcome": outcome, "error": error or None,
            "attempt": batch.attempts + 1, "duration_ms": round(seconds * 1000, 1)})
        self.store.note_attempt(batch.ids, {         # each event's timeline in the console
            "at": now_ms(self.clock), "kind": "mega", "endpoint": batch.endpoint,
            "key": batch.key, "status": code, "outcome": outcome, "error": error[:500]})
        if isinstance(answer.rate, RateInfo) and answer.rate.remaining is not None:
            reset_at = now_ms(self.clock) + int((answer.rate.reset_s or 0) * 1000)
            self.lease.record_rate(batch.endpoint, answer.rate.remaining, reset_at)
