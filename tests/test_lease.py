"""The fence: a flush whose lease moved to another token writes nothing, whatever it tries."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import redis

from gateway.config import Customer
from gateway.domain.event import Outcome
from gateway.domain.records import Answered, Batch
from gateway.errors import LeaseLost
from gateway.store.lease import Lease
from gateway.store.store import Store
from tests.conftest import ACME_ID, ACME_TOKEN

ACME = Customer("acme", ACME_ID, ACME_TOKEN)
SENT = Batch(["evt_1", "evt_2"], created=1, endpoint="bulk", key="k-stale", body=b"{}")

WRITES: dict[str, Callable[[Lease], Any]] = {
    "finish": lambda lease: lease.finish({"evt_1": Outcome("delivered")}, 60),
    "freeze": lambda lease: lease.freeze(SENT),
    "split": lambda lease: lease.split(SENT),
    "park": lambda lease: lease.park({"other": (["evt_1"], 5, "why")}, ["evt_2"]),
    "record": lambda lease: lease.record(
        Answered(SENT, note={"kind": "mega"}, attempt_error="boom",
                 outcomes={"evt_1": Outcome("dead")}, state={"blocked": "x"}), 60),
    "unpark": lambda lease: lease.unpark("meta"),
    "release": lambda lease: lease.release(ACME, hold_until_ms=5),
    "take": lambda lease: lease.take(10),
    "record_state": lambda lease: lease.record(
        Answered(SENT, split=True, state={"blocked": "x", "last_error": None}), 60),
    "set_events": lambda lease: lease.set_events({"evt_1": {"lead": "{}"}}),
}


def seeded(r: redis.Redis) -> Store:
    """The customer as its new owner ('new') has it: a batch in flight, a buffer, a held route."""
    store = Store(r)
    k = store.keys
    r.hset(k.owners, "acme", "new")
    r.zadd(k.leases, {"acme": 10**13})
    r.rpush(k.buffer("acme"), "evt_3", "evt_4")
    r.hset(k.batch("acme"), mapping={"ids": "evt_1,evt_2", "created": 1, "attempts": 2,
                                     "endpoint": "bulk", "key": "k-new", "body": "[1]"})
    r.rpush(k.parked("acme", "meta"), "evt_5")
    r.hset(k.customer("acme"), mapping={"parked:meta": 0, "parked_reason:meta": "token"})
    for i in range(1, 6):
        r.hset(k.event(f"evt_{i}"), mapping={"id": f"evt_{i}", "status": "in_flight"})
    return store


def snapshot(r: redis.Redis) -> dict[bytes, bytes | None]:
    return {key: r.dump(key) for key in sorted(r.scan_iter("leadgate:*"))}


@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_stale_flush_writes_nothing(redis_client: redis.Redis, write: str) -> None:
    store = seeded(redis_client)
    before = snapshot(redis_client)
    with pytest.raises(LeaseLost):
        WRITES[write](store.lease("acme", "stale"))
    assert snapshot(redis_client) == before


@pytest.mark.parametrize("write", sorted(WRITES))
def test_the_owner_does_write(redis_client: redis.Redis, write: str) -> None:
    store = seeded(redis_client)
    before = snapshot(redis_client)
    WRITES[write](store.lease("acme", "new"))
    if write != "take":                # take only reads a batch that exists
        assert snapshot(redis_client) != before


def test_renew_fails_once_the_lease_moved(redis_client: redis.Redis) -> None:
    store = seeded(redis_client)
    store.lease("acme", "new").renew(lease_s=5)
    with pytest.raises(LeaseLost):
        store.lease("acme", "stale").renew(lease_s=5)


def owned(r: redis.Redis, clock_ms: int = 1_000_000) -> Lease:
    r.hset("leadgate:lease-owners", "acme", "me")
    r.zadd("leadgate:leases", {"acme": clock_ms + 10_000})
    return Store(r, clock=lambda: clock_ms / 1000).lease("acme", "me")


def test_take_resumes_the_batch_in_flight_then_a_replay_then_the_buffer(
        redis_client: redis.Redis) -> None:
    lease = owned(redis_client)
    redis_client.rpush("leadgate:buffer:acme", "evt_3", "evt_4")
    redis_client.hset("leadgate:event:evt_3", mapping={"status": "pending", "customer": "acme"})
    redis_client.rpush("leadgate:replays:acme", json.dumps({
        "ids": "evt_1,evt_2", "endpoint": "bulk", "key": "k-orig", "body": "[1]",
        "key_since": "5", "key_reason": "body unchanged"}))
    first = lease.take(10)
    assert first is not None and (first.ids, first.key, first.key_since) == (
        ["evt_1", "evt_2"], "k-orig", 5)
    assert lease.take(10) == first                        # still in flight: the same
    lease.finish({"evt_1": Outcome("delivered"), "evt_2": Outcome("delivered")}, 60)
    second = lease.take(10)
    assert second is not None and second.ids == ["evt_3", "evt_4"] and not second.body
    assert redis_client.hget("leadgate:event:evt_3", "status") == b"in_flight"
    assert not redis_client.exists("leadgate:event:evt_4")    # no record: none made up


@pytest.mark.parametrize(("setup", "hold", "due_in_ms"), [
    ("nothing", 0, None),
    ("buffer", 0, 500),                      # the linger: a batch may still fill
    ("full", 0, 0),                          # max_batch waiting: at once
    ("frozen", 0, 0),                        # a batch in flight: at once
    ("replay", 0, 0),                        # a replayed batch: at once
    ("frozen", 1_060_000, 60_000),           # never inside a hold
])
def test_release_schedules_the_next_flush(redis_client: redis.Redis, setup: str, hold: int,
                                          due_in_ms: int | None) -> None:
    lease = owned(redis_client)
    if setup in ("buffer", "full"):
        redis_client.rpush("leadgate:buffer:acme", *(["e"] * (2 if setup == "full" else 1)))
    elif setup == "frozen":
        redis_client.hset("leadgate:batch:acme", mapping={"ids": "e", "created": 1})
    elif setup == "replay":
        redis_client.rpush("leadgate:replays:acme", "{}")
    lease.release(Customer("acme", ACME_ID, ACME_TOKEN, linger_ms=500, max_batch=2),
                  hold_until_ms=hold)
    due = redis_client.zscore("leadgate:due", "acme")
    assert (None if due is None else int(due) - 1_000_000) == due_in_ms
    assert redis_client.hget("leadgate:lease-owners", "acme") is None
