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
from gateway.domain.records import Answered, Batch, Outcomes, now_ms
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
    """MEGA's answer (or a decision taken without one) worked out whole, then written through
    the flush's lease in one fenced call: terminal records, holds, splits, retries; counted in
    the metrics."""

    def __init__(self, store: Store, lease: Lease, customer: Customer, config: Config, *,
                 clock: Callable[[], float]):
        self.store, self.lease, self.customer, self.clock = store, lease, customer, clock
        self.name, self.dedup_ttl_s = customer.name, config.dedup_ttl_s
        self.retention_ms = config.mega.key_retention_ms
        self.unwritten: Answered | None = None       # a record whose write raised

    def answer(self, batch: Batch, events: list[Event], decision: policy.Decision,
               answer: MegaResponse | DeliveryError | None, started: float
               ) -> tuple[int, bool]:
        """The policy's decision applied, with the MEGA call it was taken on recorded (None:
        taken before any call): (hold-until ms or 0, go on)."""
        failure = answer if isinstance(answer, DeliveryError) else None
        answered = Answered(batch)
        if answer is not None:
            self.mega_call(answered, answer, started)
        now = now_ms(self.clock)
        if decision.action == "deliver" and isinstance(answer, MegaResponse):
            answered.outcomes = outcomes(batch, events, answer)
            answered.state.update(blocked=None, last_error=None, hold_reason=None,
                                  last_success_at=now)
            self.record(answered, events)
            return 0, len(batch.ids) >= policy.take_size(self.customer)
        return self.settle(answered, decision, failure, now)

    def settle(self, answered: Answered, decision: policy.Decision, failure: Exception | None,
               now: int) -> tuple[int, bool]:
        """Every decision but deliver: wait, hold, split, dead letter, retry later."""
        error = str(failure) if failure else ""
        if decision.attempt:
            answered.attempt_error = error
        hold, go_on = now + decision.wait_ms, False
        if decision.action == "dead":
            answered.outcomes = dead(answered.batch.ids, decision.reason, failure)
            hold, go_on = 0, True
        elif decision.action == "split":
            answered.split, hold, go_on = True, 0, True
        elif decision.action == "hold":
            answered.state.update(blocked=f"credentials: {error}", hold_reason=decision.reason,
                                  last_error=error)
        elif decision.action == "retry":
            answered.state.update(hold_reason=decision.reason, last_error=error)
        else:
            answered.state.update(hold_reason=decision.reason)
        self.record(answered)
        return hold, go_on

    def record(self, answered: Answered, events: list[Event] | None = None) -> None:
        """Write it all through the lease, then count it."""
        self.unwritten = answered
        self.lease.record(answered, self.dedup_ttl_s, retention_ms=self.retention_ms)
        self.unwritten = None
        self.count(answered.outcomes, events)

    def after_failure(self, batch: Batch) -> Answered:
        """A new record for a batch whose flush failed, keeping what a record left unwritten
        knew of the MEGA call that did happen: its count, its timeline note and the rate
        window."""
        was, self.unwritten = self.unwritten, None
        if was is None or was.batch.ids != batch.ids:
            return Answered(batch)
        return Answered(batch, note=was.note, calls=was.calls,
                        state={name: value for name, value in was.state.items()
                               if name.startswith("rl:")})

    def finish(self, result: Outcomes, *, remaining: list[str] | None = None) -> None:
        """Terminal outcomes found before any send (enrichment's), the rest kept in flight."""
        self.lease.finish(result, self.dedup_ttl_s, remaining=remaining)
        self.count(result, None)

    def count(self, result: Outcomes, events: list[Event] | None) -> None:
        """Delivered and dead leads in the metrics, and each delivery's time from receipt."""
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

    def mega_call(self, answered: Answered, answer: MegaResponse | DeliveryError,
                  started: float) -> None:
        """One log line and one count per MEGA request; on the record, the call counted on
        each event and put on its timeline (with the console's index on), and the rate budget
        it reported."""
        batch, seconds = answered.batch, time.perf_counter() - started
        failure = answer if isinstance(answer, DeliveryError) else None
        code = str(answer.status) if answer.status else "no_answer"
        outcome, error = (type(failure).__name__, str(failure)) if failure else ("ok", "")
        self.store.metrics.inc("leadgate_mega_requests", endpoint=batch.endpoint, code=code)
        log.info("mega call", extra={
            "customer": self.name, "endpoint": batch.endpoint, "rows": len(batch.ids),
            "key": batch.key, "status": code, "outcome": outcome, "error": error or None,
            "attempt": batch.attempts + 1, "duration_ms": round(seconds * 1000, 1)})
        answered.calls = 1
        if self.store.index:
            answered.note = {"at": now_ms(self.clock), "kind": "mega",
                             "endpoint": batch.endpoint, "key": batch.key, "status": code,
                             "outcome": outcome, "error": error[:500]}
        if isinstance(answer.rate, RateInfo) and answer.rate.remaining is not None:
            reset_at = now_ms(self.clock) + int((answer.rate.reset_s or 0) * 1000)
            answered.state.update({f"rl:{batch.endpoint}:remaining": answer.rate.remaining,
                                   f"rl:{batch.endpoint}:reset_at": reset_at})
