"""The store (gateway/store/store.py): the intake's one write, and the dispatcher's due set."""

from __future__ import annotations

import redis

from gateway.config import Customer
from gateway.domain.event import new_event
from gateway.store.store import Store
from tests.conftest import ACME_ID, ACME_TOKEN

ACME = Customer("acme", ACME_ID, ACME_TOKEN, linger_ms=0)


def test_ingest_stores_once_and_makes_the_customer_due(redis_client: redis.Redis) -> None:
    store = Store(redis_client, clock=lambda: 100.0)
    event = new_event(customer="acme", route="acme-form", source="generic", provider_id="p1",
                      received_at_ms=100_000, lead="{}")
    assert store.ingest(ACME, [event.to_fields()], 3600) == [True]
    assert store.ingest(ACME, [event.to_fields()], 3600) == [False]     # a resend: no copy
    assert redis_client.lrange("leadgate:buffer:acme", 0, -1) == [event.id.encode()]
    assert store.claim("t1", lease_s=30, limit=10) == ["acme"]


def test_a_postponed_customer_is_not_claimed_before_its_time(redis_client: redis.Redis
                                                             ) -> None:
    now = [100.0]
    store = Store(redis_client, clock=lambda: now[0])
    store.postpone("acme", 160_000)
    assert store.claim("t1", lease_s=30, limit=10) == []
    now[0] = 160.0
    assert store.claim("t1", lease_s=30, limit=10) == ["acme"]
