"""Delivery policy functions, pinned."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from gateway.config import Customer
from gateway.domain import policy
from gateway.domain.event import Event
from gateway.errors import (
    MegaBadRequest,
    MegaConflict,
    MegaCredentialsError,
    MegaRateLimited,
    MegaUnavailable,
)
from workers.meta.graph import GraphError

ACME = Customer("acme", "11111111-1111-4111-8111-111111111111", "t")


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 1.0), (2, 2.0), (5, 16.0), (20, 300.0)])
def test_backoff_is_full_jitter_under_an_exponential_ceiling(attempt: int,
                                                             ceiling: float) -> None:
    assert policy.backoff_s(attempt, rand=lambda: 1.0) == ceiling
    assert policy.backoff_s(attempt, rand=lambda: 0.0) == 0.0
    assert policy.backoff_s(attempt, rand=lambda: 0.5) == ceiling / 2


def test_lease_outlasts_a_mega_call() -> None:
    assert policy.lease_s(15) == 41 and policy.lease_s(2) == 12      # 1 + connect + 2 t + 5


def test_auto_picks_single_for_one_lead() -> None:
    assert policy.endpoint_for(ACME, 1) == "single"
    assert policy.endpoint_for(ACME, 2) == "bulk"
    single = Customer("s", ACME.customer_id, "t", delivery="single")
    assert policy.endpoint_for(single, 1) == "single" and policy.take_size(single) == 1


def event(eid: str, *, replays: int = 0, **extra: str) -> Event:
    return Event(eid, "acme", "web", "generic", "p1", "pending", 0, replays=replays, extra=extra)


def test_keys_are_stable_and_change_on_replay() -> None:
    a, b = event("evt_" + "a" * 32), event("evt_" + "b" * 32)
    assert policy.idempotency_key("single", [a]) == "lg-" + "a" * 32
    assert policy.idempotency_key("single", [replace(a, replays=1)]) == \
        "lg-" + "a" * 32 + "-r1"
    bulk = policy.idempotency_key("bulk", [a, b])
    assert bulk == policy.idempotency_key("bulk", [b, a]) and bulk.startswith("lgb-")
    assert bulk != policy.idempotency_key("bulk", [a, replace(b, replays=1)])


def test_bodies_are_canonical_and_single_drops_bulk_only_fields() -> None:
    lead = json.dumps({"contact_name": "A", "lead_line": "buyer", "owner_id": "x"})
    single = policy.request_body(ACME, "single", [event("evt_1", lead=lead)])
    assert single == b'{"contact_name":"A"}'
    bulk = json.loads(policy.request_body(ACME, "bulk", [event("evt_1", lead=lead)]))
    assert bulk == {"dry_run": False, "on_duplicate": "update", "leads": [
        {"row_ref": "evt_1", "contact_name": "A", "lead_line": "buyer", "owner_id": "x"}]}
    assert policy.single_drops(lead) == ["lead_line", "owner_id"]


LIMITS = policy.Limits(max_age_ms=3_600_000, key_retention_ms=7_200_000)


def _decide(failure: Exception | None, *, rows: int = 2, age_ms: int = 0,
            key_age_ms: int = 0) -> policy.Decision:
    return policy.decide(failure, rows=rows, attempts=1, age_ms=age_ms, key_age_ms=key_age_ms,
                         limits=LIMITS, rand=lambda: 0.5)


@pytest.mark.parametrize(("failure", "rows", "expected"), [
    (None, 2, ("deliver", "", False)),
    (MegaRateLimited("429", retry_after_s=3), 2, ("wait", "rate_limited", False)),
    (MegaCredentialsError("401", status=401), 2, ("hold", "credentials", False)),
    (MegaBadRequest("400", status=400), 2, ("split", "", False)),
    (MegaBadRequest("400", status=400), 1, ("dead", "rejected", False)),
    (MegaConflict("409", status=409), 2, ("dead", "conflict", False)),
    (MegaUnavailable("503", status=503), 2, ("retry", "retrying", True)),
    (MegaUnavailable("timeout"), 2, ("retry", "retrying", True)),
    (MegaUnavailable("html", status=200), 2, ("retry", "retrying", True)),
    (KeyError("a bug"), 2, ("retry", "retrying", True)),
    (GraphError("throttled", kind="throttled"), 2, ("retry", "meta_throttled", True)),
])
def test_the_delivery_table(failure: Exception | None, rows: int,
                            expected: tuple[str, str, bool]) -> None:
    decision = _decide(failure, rows=rows)
    assert (decision.action, decision.reason, decision.attempt) == expected


def test_retries_end_at_max_age_or_key_retention_and_wait_after_no_answer() -> None:
    unanswered = MegaUnavailable("timeout")
    assert _decide(unanswered).wait_ms == 1000                 # at least 1 s: MEGA may be at it
    assert _decide(MegaUnavailable("503", status=503)).wait_ms == 500
    assert _decide(unanswered, age_ms=3_600_001).reason == "expired"
    assert _decide(unanswered, age_ms=3_600_001, key_age_ms=7_200_001).reason == "key_expired"
    assert _decide(MegaRateLimited("429", retry_after_s=3)).wait_ms == 3000
