"""Delivery policy functions, pinned."""

from __future__ import annotations

import json

import pytest

from gateway.config import Customer
from workers import policy

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


def test_keys_are_stable_and_change_on_replay() -> None:
    a = {"id": "evt_" + "a" * 32, "replays": "0"}
    b = {"id": "evt_" + "b" * 32, "replays": "0"}
    assert policy.idempotency_key("single", [a]) == "lg-" + "a" * 32
    assert policy.idempotency_key("single", [{**a, "replays": "1"}]) == "lg-" + "a" * 32 + "-r1"
    bulk = policy.idempotency_key("bulk", [a, b])
    assert bulk == policy.idempotency_key("bulk", [b, a]) and bulk.startswith("lgb-")
    assert bulk != policy.idempotency_key("bulk", [a, {**b, "replays": "1"}])


def test_bodies_are_canonical_and_single_drops_bulk_only_fields() -> None:
    lead = json.dumps({"contact_name": "A", "lead_line": "buyer", "owner_id": "x"})
    single = policy.request_body(ACME, "single", [{"id": "evt_1", "lead": lead}])
    assert single == b'{"contact_name":"A"}'
    bulk = json.loads(policy.request_body(ACME, "bulk", [{"id": "evt_1", "lead": lead}]))
    assert bulk == {"dry_run": False, "on_duplicate": "update", "leads": [
        {"row_ref": "evt_1", "contact_name": "A", "lead_line": "buyer", "owner_id": "x"}]}
    assert policy.single_drops(lead) == ["lead_line", "owner_id"]
