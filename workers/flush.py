"""One flush: own a customer's lease; take -> prepare -> send -> apply; hand it back.

Every write goes through the flush's Lease (gateway/lease.py), fenced by its token: once
another flush owns the customer, this one writes nothing more and stops.
"""

from __future__ import annotations

import logging
import time

from gateway import defaults
from gateway.config import Customer
from gateway.errors import DeliveryError, LeaseLost, SourceError
from gateway.records import Batch, MalformedBatch, Outcomes, now_ms
from gateway.sources.enrichment import Events, Fetch
from workers import policy
from workers.context import WorkerContext
from workers.enrich import Found, enrich
from workers.mega import MegaResponse, RateInfo
from workers.outcomes import dead, outcomes, unavailable

log = logging.getLogger("leadgate.worker")


class Flush:
    def __init__(self, ctx: WorkerContext, customer: Customer, token: str):
        self.ctx, self.customer, self.token = ctx, customer, token
        self.store, self.name = ctx.store, customer.name
        self.lease = ctx.store.lease(customer.name, token)
        self.lease_s = policy.lease_s(ctx.config.mega["timeout_s"])
        self.batch: Batch | None = None

    def run(self) -> None:
        """Deliver until the buffer is empty, a hold is needed, or the time budget is spent."""
        try:
            hold = self.deliver_all()
        except LeaseLost:
            log.warning("flush of %s stopped: its lease moved to another flush", self.name)
            return
        except Exception as exc:   # a bug, Redis trouble, a malformed batch, a source's API
            if isinstance(exc, SourceError):       # throttled or in trouble: a counted attempt
                log.warning("flush of %s: %s (%s)", self.name, exc.reason, exc)
            else:
                log.exception("flush of %s failed: %s", self.name, type(exc).__name__)
            try:
                hold = self.failed_flush(exc)
            except LeaseLost:
                return
        try:
            self.lease.release(self.customer, hold_until_ms=hold, wake_at_ms=self.next_unpark())
        except LeaseLost:
            pass

    def deliver_all(self) -> int:
        """Batch after batch: (hold-until ms or 0)."""
        deadline = self.ctx.clock() + defaults.FLUSH_BUDGET_S
        self.unpark_due()
        while True:
            self.lease.renew(lease_s=self.lease_s)
            self.batch = self.take()
            if self.batch is None:
                return 0
            hold, more = self.deliver(self.batch)
            self.batch = None
            if hold or not more or self.ctx.clock() > deadline or self.ctx.stopping.is_set():
                return hold

    def take(self) -> Batch | None:
        """The batch in flight, the next replay, or new events; a malformed record raises."""
        try:
            return self.lease.take(policy.take_size(self.customer))
        except MalformedBatch as exc:
            self.batch = Batch(exc.ids, exc.created or now_ms(self.ctx.clock))
            raise

    def deliver(self, batch: Batch) -> tuple[int, bool]:
        """take -> prepare -> send -> apply: (hold-until ms or 0, whether to go on)."""
        events = self.store.load_events(batch.ids)
        if not batch.body:
            hold, events = self.prepare(batch, events)
            if hold or not events:
                return hold, not hold
        elif self.key_expired(batch):
            self.finish(dead(batch.ids, "key_expired", None), sent=batch)
            return 0, True
        if waiting := self.rate_wait(batch.endpoint):
            return waiting, False
        response, failure = self.send(batch)
        return self.apply(batch, events, response, failure)

    def send(self, batch: Batch) -> tuple[MegaResponse | None, DeliveryError | None]:
        """Renew the lease, then one MEGA call within its deadline: the answer or the error."""
        self.lease.renew(lease_s=self.lease_s)
        started = time.perf_counter()
        response: MegaResponse | None = None
        failure: DeliveryError | None = None
        try:
            response = self.ctx.mega.send(self.customer, batch.endpoint, batch.body, batch.key)
        except DeliveryError as exc:
            failure = exc
        answer = response or failure
        assert answer is not None
        self.mega_call(batch, answer.status, started, type(failure).__name__ if failure
                       else "ok", str(failure or ""))
        if isinstance(answer.rate, RateInfo) and answer.rate.remaining is not None:
            reset_at = now_ms(self.ctx.clock) + int((answer.rate.reset_s or 0) * 1000)
            self.lease.record_rate(batch.endpoint, answer.rate.remaining, reset_at)
        return response, failure

    def rate_wait(self, endpoint: str) -> int:
        """Hold the customer until the reset when MEGA said no calls remain (ms), else 0."""
        until = policy.rate_wait(self.store.state(self.name), endpoint, now_ms(self.ctx.clock))
        if until:
            self.lease.set_state(hold_reason="rate_limited")
        return until

    def prepare(self, batch: Batch, events: Events) -> tuple[int, Events]:
        """Enrich what a source asks for, then freeze the exact bytes and key."""
        found = enrich(events, routes=self.ctx.config.routes,
                       held=self.store.parked_routes(self.name), fetch_for=self.fetch_for,
                       now_ms=now_ms(self.ctx.clock))
        events = self.apply_found(batch, events, found)
        if events and (alike := policy.alike_prefix(events)) < len(events):
            self.lease.split(batch, head=alike)     # an import's rows travel apart: go on
            return 0, []
        if events:
            self.freeze(batch, events)
        return 0, events

    def fetch_for(self, source: str) -> Fetch | None:
        """The source's lead fetch, renewing this flush's lease before each outside call."""
        fetcher = self.ctx.fetchers.get(source)
        if fetcher is None:
            return None

        def fetch(base_url: str, token: str, ids: list[str]) -> object:
            return fetcher.fetch(base_url, token, ids,
                                 before_call=lambda: self.lease.renew(lease_s=self.lease_s))
        return fetch

    def apply_found(self, batch: Batch, events: Events, found: Found) -> Events:
        """Store the leads found, hold the held routes, dead-letter the gone: the events left."""
        if not (found.records or found.gone or found.held):
            return events
        self.lease.set_events(found.records)
        self.store.add_contacts([{**e.to_fields(), **found.records[e.id]} for e in events
                                 if e.id in found.records], now_ms(self.ctx.clock))
        left = found.left(events)
        if found.held:
            batch.ids = [eid for eid in batch.ids if eid not in {
                i for ids, _, _ in found.held.values() for i in ids}]
            self.lease.park(found.held, batch.ids)
        if found.gone:
            batch.ids = [eid for eid in batch.ids if eid not in found.gone]
            self.finish(unavailable(found.gone), remaining=batch.ids)
        return left

    def freeze(self, batch: Batch, events: Events) -> None:
        """Fix the exact bytes and key before the first send; retries reuse them."""
        batch.endpoint = policy.endpoint_for(self.customer, len(events),
                                             bulk_only=policy.bulk_only(events))
        batch.key = policy.idempotency_key(batch.endpoint, events)
        batch.body = policy.request_body(self.customer, batch.endpoint, events)
        batch.key_since = now_ms(self.ctx.clock)
        self.lease.freeze(batch)

    def apply(self, batch: Batch, events: Events, response: MegaResponse | None,
              failure: Exception | None) -> tuple[int, bool]:
        """The policy's decision on MEGA's answer, written: (hold-until ms or 0, go on)."""
        decision = self.decide(batch, failure)
        now = now_ms(self.ctx.clock)
        if decision.action == "deliver" and response is not None:
            self.finish(outcomes(batch, events, response), events, sent=batch)
            self.lease.set_state(blocked=None, last_error=None, hold_reason=None,
                                 last_success_at=now)
            return 0, len(batch.ids) >= policy.take_size(self.customer)
        return self.settle(batch, decision, failure, now)

    def key_expired(self, batch: Batch) -> bool:
        """A frozen batch is never resent once MEGA may have forgotten its key."""
        retention_ms = self.ctx.config.mega["key_retention_hours"] * 3_600_000
        return bool(batch.key_since) and now_ms(self.ctx.clock) - batch.key_since > retention_ms

    def decide(self, batch: Batch, failure: Exception | None) -> policy.Decision:
        now = now_ms(self.ctx.clock)
        mega = self.ctx.config.mega
        limits = policy.Limits(int(mega["max_age_hours"] * 3_600_000),
                               int(mega["key_retention_hours"] * 3_600_000))
        key_age = now - batch.key_since if batch.key_since else 0
        return policy.decide(failure, rows=len(batch.ids), attempts=batch.attempts + 1,
                             age_ms=now - batch.created, key_age_ms=key_age, limits=limits)

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

    def failed_flush(self, exc: Exception) -> int:
        """An exception inside the flush (or a source's API failing): an attempt of the batch
        in hand, as for a 5xx."""
        now = now_ms(self.ctx.clock)
        fallback = now + int(policy.backoff_s(3) * 1000)
        if self.batch is None:
            return fallback
        try:
            if isinstance(exc, MalformedBatch) and not exc.ids:
                self.lease.finish({}, self.ctx.config.dedup_ttl_s)   # nothing in it to send
                return now
            hold, _ = self.settle(self.batch, self.decide(self.batch, exc), exc, now)
        except LeaseLost:
            raise
        except Exception:        # Redis is down too: the batch stays as it is, try later
            log.exception("flush of %s could not record its failure", self.name)
            return fallback
        return hold or now

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
        self.store.note_attempt(batch.ids, {         # each event's timeline in the console
            "at": now_ms(self.ctx.clock), "kind": "mega", "endpoint": batch.endpoint,
            "key": batch.key, "status": code, "outcome": outcome, "error": error[:500]})

    def finish(self, result: Outcomes, events: Events | None = None, *,
               remaining: list[str] | None = None, sent: Batch | None = None) -> None:
        """Record terminal outcomes (and count them)."""
        retention_ms = int(self.ctx.config.mega["key_retention_hours"] * 3_600_000)
        self.lease.finish(result, self.ctx.config.dedup_ttl_s, remaining=remaining,
                          sent=sent if sent is not None and sent.body else None,
                          retention_ms=retention_ms)
        received = {e.id: e.received_at for e in events or []}
        now = now_ms(self.ctx.clock)
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

    def unpark_due(self) -> None:
        """Routes whose hold has run out: their events go back to the front of the queue."""
        now = now_ms(self.ctx.clock)
        for route, (until, _) in self.store.parked_routes(self.name).items():
            if until <= now:
                self.lease.unpark(route)

    def next_unpark(self) -> int:
        """When the earliest held route is to be tried again (0: none is held)."""
        return min((until for until, _ in self.store.parked_routes(self.name).values()),
                   default=0)
