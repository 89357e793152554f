"""The read model (gateway/store/readmodel.py): events as Event, and the reads the console, the
admin API and the CLI make, against a real Redis."""

from __future__ import annotations

import json

import redis

from gateway.config import Customer
from gateway.domain.event import Event, new_event
from gateway.store.store import Store
from tests.conftest import ACME_ID, ACME_TOKEN

ACME = Customer("acme", ACME_ID, ACME_TOKEN, linger_ms=60_000)


def stored(store: Store, *received_ms: int) -> list[Event]:
    """Events ingested for acme, received at the given times (ms)."""
    events = [new_event(customer="acme", route="acme-form", source="generic",
                        provider_id=f"p{i}", received_at_ms=at, lead="{}")
              for i, at in enumerate(received_ms)]
    store.ingest(ACME, [e.to_fields() for e in events], 3600)
    return events


def test_events_come_back_typed_and_a_missing_one_as_none(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    (event,) = stored(store, 1_000)
    got, missing = store.events([event.id, "evt_none"])
    assert isinstance(got, Event) and got.id == event.id and got.status == "pending"
    assert got.received_at == 1_000 and missing is None
    assert store.event("evt_none") is None


def test_oldest_pending_is_the_head_of_the_buffer(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    assert store.oldest_pending_ms("acme") is None
    stored(store, 5_000, 7_000)
    assert store.oldest_pending_ms("acme") == 5_000


def test_recent_events_newest_first_from_the_cursor(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    redis_client.zadd("leadgate:events", {"evt_a": 1, "evt_b": 2, "evt_c": 3})
    assert store.recent_events(float("inf"), 0, offset=0, count=2) == [("evt_c", 3),
                                                                       ("evt_b", 2)]
    assert store.recent_events(float("inf"), 0, offset=1, count=1) == [("evt_b", 2)]
    assert store.recent_events(2, 0, offset=0, count=5) == [("evt_b", 2), ("evt_a", 1)]


def test_route_and_alert_state_as_stored(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    redis_client.hset("leadgate:reconcile:acme-form", mapping={"seen": 3, "wm:f1": 9})
    redis_client.hset("leadgate:source-health", "acme-form", json.dumps({"state": "healthy"}))
    redis_client.hset("leadgate:alerts:state", mapping={"stuck": 1, "dead_letters": 1})
    assert store.reconcile_state("acme-form") == {"seen": "3", "wm:f1": "9"}
    assert store.source_health() == {"acme-form": {"state": "healthy"}}
    assert store.firing_alerts() == ["dead_letters", "stuck"]
    assert "used_memory" in store.memory_info()
