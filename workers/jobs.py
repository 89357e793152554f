"""RQ jobs: plain importable functions with JSON-serialisable arguments."""

from __future__ import annotations

import logging

from gateway import defaults
from gateway.store.store import now_ms
from workers.context import current
from workers.flush import Flush

log = logging.getLogger("leadgate.worker")


def flush(customer: str, token: str) -> None:
    """Deliver a customer's waiting leads while this job holds its lease (token)."""
    ctx = current()
    spec = ctx.config.customers.get(customer)
    if spec is None:
        log.error("leads wait for customer '%s', which the config no longer has", customer)
        ctx.store.postpone(customer, now_ms(ctx.clock) + defaults.UNKNOWN_CUSTOMER_RETRY_S * 1000)
        return
    Flush(ctx, spec, token).run()
