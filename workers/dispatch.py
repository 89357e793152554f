"""The dispatcher: leases customers whose flush is due and enqueues one RQ flush job each."""

from __future__ import annotations

import hashlib
import logging
import threading
import uuid

from rq import Queue

from gateway import defaults
from gateway.domain.policy import lease_s
from gateway.errors import StoreUnavailable, cause_name
from workers.context import WorkerContext
from workers.queue import enqueue

log = logging.getLogger("leadgate.worker")
JOB_TIMEOUT_S = 300


class Dispatcher:
    """Queues a flush job for each customer whose batch is due, in a background thread."""

    def __init__(self, ctx: WorkerContext, queue: Queue, *,
                 interval_s: float = defaults.DISPATCH_INTERVAL_S):
        self.ctx, self.queue, self.interval_s = ctx, queue, interval_s
        self._thread: threading.Thread | None = None

    def dispatch_once(self) -> int:
        """Claim due customers and enqueue their flushes; returns how many."""
        token = uuid.uuid4().hex
        claimed = self.ctx.store.claim(token, lease_s=lease_s(self.ctx.config.mega.timeout_s),
                                       limit=defaults.DISPATCH_CLAIM_LIMIT)
        for customer in claimed:
            tag = hashlib.sha1(customer.encode()).hexdigest()[:12]
            enqueue(self.queue, "workers.jobs.flush", customer, token,
                               job_id=f"flush-{tag}-{token}", job_timeout=JOB_TIMEOUT_S,
                               result_ttl=0, failure_ttl=7 * 86400)
        return len(claimed)

    def loop(self) -> None:
        """Dispatch until the worker stops; Redis trouble is logged and waited out."""
        backoff = self.interval_s
        while not self.ctx.stopping.is_set():
            try:
                busy = self.dispatch_once()
                backoff = self.interval_s
            except StoreUnavailable as exc:
                log.warning("dispatcher: Redis unavailable (%s); retrying", cause_name(exc))
                busy, backoff = 0, min(backoff * 2, 5.0)
            if not busy:
                self.ctx.stopping.wait(backoff)

    def start(self) -> None:
        """Run the dispatch loop in a daemon thread."""
        self._thread = threading.Thread(target=self.loop, name="leadgate-dispatcher",
                                        daemon=True)
        self._thread.start()
