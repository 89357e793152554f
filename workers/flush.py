"""One flush: own a customer's lease; take -> prepare -> send -> apply; hand it back.

A batch goes one way: `Flush.deliver` loads its events, has them prepared
(workers/enrich.py), asks the policy whether and what next (gateway/domain/policy.py), sends, and
has MEGA's answer applied (workers/outcomes.py); none of them calls back into the flush.
Every write goes through the flush's Lease (gateway/store/lease.py), fenced by its token: once
another flush owns the customer, this one writes nothing more and stops.
"""

from __future__ import annotations

import logging
import time

from gateway import defaults
from gateway.config import Customer
from gateway.domain import policy
from gateway.domain.records import Batch, MalformedBatch, now_ms
from gateway.domain.sources.enrichment import Fetch
from gateway.errors import DeliveryError, LeaseLost, SourceError
from gateway.mega.client import MegaResponse
from workers.context import WorkerContext
from workers.enrich import Prep, prepare
from workers.outcomes import Apply

log = logging.getLogger("leadgate.worker")


class Flush:
    """One customer's flush under its lease: take a batch, enrich, send to MEGA, apply."""

    def __init__(self, ctx: WorkerContext, customer: Customer, token: str):
        self.ctx, self.customer, self.token = ctx, customer, token
        self.store, self.name = ctx.store, customer.name
        self.lease = ctx.store.lease(customer.name, token)
        self.lease_s = policy.lease_s(ctx.config.mega.timeout_s)
        self.limits = policy.Limits(ctx.config.mega.max_age_ms, ctx.config.mega.key_retention_ms)
        self.apply = Apply(ctx.store, self.lease, customer, ctx.config, clock=ctx.clock)
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
        """load -> prepare -> check -> send -> decide -> apply: (hold-until ms, go on)."""
        events, missing = self.store.batch_events(batch.ids)
        if missing:
            batch = self.drop_missing(batch, missing)
            if not batch.ids:
                return 0, True
        if not batch.body:
            events = prepare(batch, events, self.prep())
            if not events:
                return 0, True
        early = policy.before_send(self.store.state(self.name), batch,
                                   now_ms(self.ctx.clock), self.limits)
        answer: MegaResponse | DeliveryError | None = None
        started = time.perf_counter()
        if early is None:                   # one MEGA call, the lease renewed just before
            self.lease.renew(lease_s=self.lease_s)
            started = time.perf_counter()
            try:
                answer = self.ctx.mega.send(self.customer, batch.endpoint, batch.body, batch.key)
            except DeliveryError as exc:
                answer = exc
        failure = answer if isinstance(answer, DeliveryError) else None
        decision = early or policy.judge(batch, failure, now_ms(self.ctx.clock), self.limits)
        return self.apply.answer(batch, events, decision, answer, started)

    def drop_missing(self, batch: Batch, missing: list[str]) -> Batch:
        """Ids in the batch without a record (a purge, a lost key): dropped from it through
        the lease, logged and counted; the rest goes on."""
        self.batch = batch = self.lease.drop(batch, missing)
        log.warning("flush of %s: %d event(s) of its batch have no record: dropped (%s)",
                    self.name, len(missing), ", ".join(missing[:10]))
        self.store.metrics.inc("leadgate_leads_missing", len(missing), customer=self.name)
        return batch

    def prep(self) -> Prep:
        """What preparing a batch needs from this flush."""
        return Prep(self.customer, self.lease, self.store, self.ctx.config.routes,
                    self.fetch_for, lambda result, remaining: self.apply.finish(
                        result, remaining=remaining), self.ctx.clock)

    def fetch_for(self, source: str) -> Fetch | None:
        """The source's lead fetch, renewing this flush's lease before each outside call."""
        fetcher = self.ctx.fetchers.get(source)
        if fetcher is None:
            return None

        def fetch(base_url: str, token: str, ids: list[str]) -> object:
            """Fetch these leads from the source, renewing the lease before each call."""
            return fetcher.fetch(base_url, token, ids,
                                 before_call=lambda: self.lease.renew(lease_s=self.lease_s))
        return fetch

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
            decision = policy.judge(self.batch, exc, now, self.limits)
            hold, _ = self.apply.settle(self.apply.after_failure(self.batch), decision,
                                        exc, now)
        except LeaseLost:
            raise
        except Exception:        # Redis is down too: the batch stays as it is, try later
            log.exception("flush of %s could not record its failure", self.name)
            return fallback
        return hold or now

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
