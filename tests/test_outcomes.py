"""The apply step (workers/outcomes.py): MEGA's answer turned into each event's terminal record
and the flush's writes, through its lease on a real Redis."""

from __future__ import annotations

import json
import time

import pytest
import redis

from gateway.config import Config
from gateway.domain.event import Event
from gateway.domain.policy import Decision
from gateway.domain.records import Answered, Batch, unpacked
from gateway.errors import LeaseLost, MegaBadRequest, MegaCredentialsError
from gateway.mega.client import MegaResponse, RateInfo
from gateway.store.metrics import series
from gateway.store.store import Store
from workers.outcomes import Apply, bulk_row, dead, outcomes

NOW = 1_700_000_000.0
NO_RATE = RateInfo(None, None, None, None)


def event(eid: str, **extra: str) -> Event:
    return Event(eid, "acme", "acme-form", "generic", eid, "in_flight",
                 int(NOW * 1000) - 2_000, extra=extra)


def test_a_single_create_records_the_lead_and_warns_of_fields_it_dropped() -> None:
    one = event("evt_1", lead=json.dumps({"contact_name": "A", "owner_id": "x"}))
    batch = Batch(["evt_1"], created=1, endpoint="single")
    result = outcomes(batch, [one], MegaResponse(201, {"lead": {"id": 42}}, NO_RATE))
    assert result["evt_1"].delivered and result["evt_1"].lead_id == "42"
    assert result["evt_1"].delivery_warning == "not sent by a single create: owner_id"
    assert result["evt_1"].mega_status == "201"


def test_a_bulk_answer_gives_each_row_its_own_record() -> None:
    batch = Batch(["evt_1", "evt_2", "evt_3"], created=1, endpoint="bulk")
    body = {"results": [
        {"row_ref": "evt_1", "status": "created", "lead_id": "L1", "matched_by": "email",
         "ignored_custom_fields": ["x"]},
        {"row_ref": "evt_2", "status": "failed", "errors": ["bad phone", "no name"]}]}
    result = outcomes(batch, [], MegaResponse(200, body, NO_RATE))
    assert (result["evt_1"].outcome, result["evt_1"].lead_id) == ("created", "L1")
    assert result["evt_1"].ignored_custom_fields == '["x"]'
    assert (result["evt_2"].dead_reason, result["evt_2"].error) == ("rejected",
                                                                     "bad phone; no name")
    assert result["evt_3"].status == "dead"
    assert result["evt_3"].error == "MEGA's answer has no result for this row"


def test_a_failed_row_without_a_list_of_errors_says_failed() -> None:
    assert bulk_row({"status": "failed", "errors": "oops"}, 200).error == "failed"


def test_dead_letters_keep_what_mega_said_within_a_bound() -> None:
    exc = MegaBadRequest("MEGA 422: no", status=422, body={"detail": "x" * 5000})
    (only,) = dead(["evt_1"], "rejected", exc).values()
    assert (only.dead_reason, only.mega_status, only.error) == ("rejected", "422", "MEGA 422: no")
    assert len(only.mega_body or "") == 2000
    assert dead(["evt_2"], "too_old", None)["evt_2"].error == "too_old"


@pytest.fixture
def stored(redis_client: redis.Redis, config: Config) -> tuple[Store, Apply, Batch,
                                                                 list[Event]]:
    """Two events in acme's frozen batch, its lease held by the token 'tok'."""
    store = Store(redis_client, clock=lambda: NOW)
    k = store.keys
    events = [event("evt_1", lead="{}"), event("evt_2", lead="{}")]
    for e in events:
        redis_client.hset(k.event(e.id), mapping=e.to_fields())
    batch = Batch([e.id for e in events], created=1, endpoint="bulk", key="lgb-1", body=b"{}")
    redis_client.hset(k.batch("acme"), mapping={"ids": "evt_1,evt_2", "created": 1,
                                                "endpoint": "bulk", "key": "lgb-1",
                                                "body": "{}"})
    redis_client.hset(k.owners, "acme", "tok")
    redis_client.zadd(k.leases, {"acme": 10**13})
    apply = Apply(store, store.lease("acme", "tok"), config.customers["acme"], config,
                  clock=lambda: NOW)
    return store, apply, batch, events


def fields(store: Store, eid: str) -> dict[str, str]:
    return unpacked(store.redis.hgetall(store.keys.event(eid)))


def counted(store: Store, name: str, **labels: str) -> float:
    store.metrics.flush()
    return float(store.redis.hget(store.keys.metrics, series(name, **labels)) or 0)


def test_a_delivery_is_written_counted_and_its_rate_budget_kept(stored: tuple) -> None:
    store, apply, batch, events = stored
    body = {"results": [{"row_ref": e.id, "status": "created", "lead_id": f"L-{e.id}"}
                        for e in events]}
    answer = MegaResponse(200, body, RateInfo(100, 7, 30.0, None))
    hold, go_on = apply.answer(batch, events, Decision("deliver"), answer, time.perf_counter())
    assert (hold, go_on) == (0, False)           # 2 rows, fewer than a full batch
    assert fields(store, "evt_1")["status"] == "delivered"
    assert fields(store, "evt_2")["lead_id"] == "L-evt_2"
    assert not store.redis.exists(store.keys.batch("acme"))
    state = store.customer_state("acme")
    assert state["rl:bulk:remaining"] == "7"
    assert state["rl:bulk:reset_at"] == str(int(NOW * 1000) + 30_000)
    assert counted(store, "leadgate_leads_delivered", customer="acme", status="created") == 2
    assert counted(store, "leadgate_mega_requests", endpoint="bulk", code="200") == 1
    assert counted(store, "leadgate_delivery_seconds", customer="acme", bucket="2.5") == 2


def test_a_refused_token_holds_the_customer_and_keeps_the_batch(stored: tuple) -> None:
    store, apply, batch, events = stored
    failure = MegaCredentialsError("MEGA 401: bad token", status=401, rate=NO_RATE)
    decision = Decision("hold", reason="credentials", wait_ms=60_000, attempt=False)
    hold, go_on = apply.answer(batch, events, decision, failure, time.perf_counter())
    assert (hold, go_on) == (int(NOW * 1000) + 60_000, False)
    state = store.customer_state("acme")
    assert state["blocked"] == "credentials: MEGA 401: bad token"
    assert state["hold_reason"] == "credentials"
    assert fields(store, "evt_1")["status"] == "in_flight"
    assert store.redis.exists(store.keys.batch("acme"))
    assert counted(store, "leadgate_mega_requests", endpoint="bulk", code="401") == 1


def test_a_dead_decision_makes_dead_letters_and_goes_on(stored: tuple) -> None:
    store, apply, batch, events = stored
    failure = MegaBadRequest("MEGA 400: no", status=400, body={"error": "no"}, rate=NO_RATE)
    hold, go_on = apply.answer(batch, events, Decision("dead", reason="rejected"), failure,
                               time.perf_counter())
    assert (hold, go_on) == (0, True)
    assert fields(store, "evt_2")["status"] == "dead"
    assert fields(store, "evt_2")["mega_body"] == '{"error": "no"}'
    assert store.dead_count() == 2
    assert counted(store, "leadgate_leads_dead", customer="acme", reason="rejected") == 2


def test_a_lost_lease_writes_nothing_and_the_next_record_keeps_the_rate_window(
        stored: tuple) -> None:
    store, apply, batch, events = stored
    store.redis.hset(store.keys.owners, "acme", "another flush")
    answer = MegaResponse(200, {"results": []}, RateInfo(100, 3, 10.0, None))
    with pytest.raises(LeaseLost):
        apply.answer(batch, events, Decision("deliver"), answer, time.perf_counter())
    assert fields(store, "evt_1")["status"] == "in_flight"
    again = apply.after_failure(batch)
    assert again.state == {"rl:bulk:remaining": 3, "rl:bulk:reset_at": int(NOW * 1000) + 10_000}
    assert apply.after_failure(batch) == Answered(batch)      # taken once
