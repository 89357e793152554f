"""Delivery policy as small pure functions: the lease, backoff, and what each answer means."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from gateway import defaults
from gateway.deadline import call_s
from gateway.domain.outbound import (
    alike_prefix,
    bulk_only,
    endpoint_for,
    idempotency_key,
    request_body,
    single_drops,
)
from gateway.domain.records import Batch, CustomerState
from gateway.domain.tenancy import Customer
from gateway.errors import (
    MegaBadRequest,
    MegaConflict,
    MegaCredentialsError,
    MegaRateLimited,
    SourceError,
)


def backoff_s(attempt: int, *, base: float = defaults.BACKOFF_BASE_S,
              cap: float = defaults.BACKOFF_CAP_S,
              rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]."""
    return rand() * min(cap, base * (1 << max(0, attempt - 1)))


def lease_s(mega_timeout_s: float) -> float:
    """How long a flush owns its customer between renewals (it renews before every outside
    call): the longest one call can take, and a margin for the Redis writes around it."""
    return call_s(mega_timeout_s) + defaults.LEASE_MARGIN_S


def rate_wait(state: CustomerState, endpoint: str, now_ms: int) -> int:
    """When MEGA said no calls remain in the endpoint's window: its reset time (ms), else 0."""
    remaining, reset_at = state.rate.get(endpoint, ("", 0))
    return reset_at if remaining == "0" and reset_at > now_ms else 0


def take_size(customer: Customer) -> int:
    """How many events one batch takes: 1 for single delivery, else max_batch."""
    return 1 if customer.delivery == "single" else customer.max_batch


@dataclass(frozen=True)
class Limits:
    """How long a batch may keep trying, in ms: its age, and its key's age at MEGA."""

    max_age_ms: int
    key_retention_ms: int


@dataclass(frozen=True)
class Decision:
    """What the flush does after one answer (docs/architecture.md, "Delivery policy", line by line).

    action: deliver, wait (not an attempt), hold (the customer's credentials), split,
    dead (reason), retry (same bytes, same key, after wait_ms). `attempt`: it counts."""

    action: str
    reason: str = ""
    wait_ms: int = 0
    attempt: bool = False


def decide(failure: Exception | None, *, rows: int, attempts: int, age_ms: int,
           key_age_ms: int, limits: Limits,
           rand: Callable[[], float] = random.random) -> Decision:
    """MEGA's answer (None: a 2xx of MEGA's shape) in, the flush's next step out."""
    if failure is None:
        return Decision("deliver")
    if isinstance(failure, MegaRateLimited):
        return Decision("wait", "rate_limited", int(failure.retry_after_s * 1000))
    if isinstance(failure, MegaCredentialsError):
        return Decision("hold", "credentials", int(defaults.CREDENTIALS_RETRY_S * 1000))
    if isinstance(failure, MegaBadRequest):
        return Decision("split") if rows > 1 else Decision("dead", "rejected")
    if isinstance(failure, MegaConflict):
        return Decision("dead", "conflict")
    # 5xx, timeout, connection error, a 2xx not MEGA's JSON or of the wrong shape, a 409
    # while the key's request is in progress, Graph trouble, a bug, a malformed batch record
    if key_age_ms > limits.key_retention_ms:
        return Decision("dead", "key_expired", attempt=True)
    if age_ms > limits.max_age_ms:
        return Decision("dead", "expired", attempt=True)
    wait_s = backoff_s(attempts, rand=rand)
    if getattr(failure, "status", 0) is None:       # no answer: MEGA may still be at it
        wait_s = max(wait_s, defaults.RETRY_AFTER_NO_ANSWER_S)
    reason = failure.reason if isinstance(failure, SourceError) else "retrying"
    return Decision("retry", reason, int(wait_s * 1000), attempt=True)


def before_send(state: CustomerState, batch: Batch, now_ms: int, limits: Limits
                ) -> Decision | None:
    """A frozen batch that must not go out now: dead once MEGA may have forgotten its key,
    or wait for the reset when MEGA said no calls remain (None: send it)."""
    if batch.key_since and now_ms - batch.key_since > limits.key_retention_ms:
        return Decision("dead", "key_expired")
    if until := rate_wait(state, batch.endpoint, now_ms):
        return Decision("wait", "rate_limited", until - now_ms)
    return None


def judge(batch: Batch, failure: Exception | None, now_ms: int, limits: Limits,
          rand: Callable[[], float] = random.random) -> Decision:
    """`decide` for one batch's answer (None: a 2xx of MEGA's shape), from its record."""
    key_age = now_ms - batch.key_since if batch.key_since else 0
    return decide(failure, rows=len(batch.ids), attempts=batch.attempts + 1,
                  age_ms=now_ms - batch.created, key_age_ms=key_age, limits=limits, rand=rand)


__all__ = ["Decision", "Limits", "alike_prefix", "backoff_s", "before_send", "bulk_only", "decide",
           "endpoint_for", "idempotency_key", "judge",
           "lease_s", "rate_wait", "request_body", "single_drops", "take_size"]
