"""Compact event records (long values in chunks, the MEGA calls in the event) and compaction:
a terminal lead shrinks to its tombstone after server.record_retention_hours."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import redis

from gateway import defaults
from gateway.domain.event import event_id
from gateway.domain.records import TOMBSTONE_FIELDS, unpacked
from gateway.errors import ConfigError
from gateway.store.index import Index
from gateway.store.keys import Keys
from gateway.store.lease import Lease, Writes
from gateway.store.store import Store
from gateway.web.app import create_app
from tests.conftest import URL_TOKEN, build
from tests.test_console import search, sign_in
from workers.monitors import compact_due

FORM_URL = f"/hooks/acme-form/{URL_TOKEN}"
TTL_S = defaults.DEDUP_TTL_DAYS * 86_400
ADMIN = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}
LEAD = {"name": "Ada Lovelace", "email": "ada@example.com", "phone": "+1 206 555 0100",
        "budget": "$5k", "utm_source": "google", "utm_campaign": "spring",
        "message": "Please call me back after 5pm about a quote for the flat."}


def stored(r: redis.Redis, eid: str) -> dict[str, str]:
    """The event as the read model gives it: its record, or once compacted its tombstone
    (less the counters every event reads back with)."""
    event = Store(r).event(eid)
    fields = event.to_fields() if event else {}
    return {name: value for name, value in fields.items()
            if value and name not in ("attempts", "replays")}


def kept(full: dict[str, str]) -> set[str]:
    """The tombstone's fields: a provider id leadgate derived from the body is not kept."""
    derived = full["provider_id"].startswith("sha256:")
    return {"compacted", *TOMBSTONE_FIELDS} - ({"provider_id"} if derived else set())


@pytest.fixture
def at_once(config_dict: dict[str, Any], redis_server: Any, drain_factory: Any
            ) -> tuple[Any, Any, Any]:
    """A deployment whose records compact as soon as they are done: config, drain, client."""
    config_dict["server"]["record_retention_hours"] = 0
    config = build(config_dict, redis_server.url)
    return config, drain_factory(config), create_app(config).test_client()


def test_a_delivered_lead_compacts_and_a_resend_is_still_a_duplicate(
        at_once: tuple[Any, Any, Any], redis_client: redis.Redis, megasim: Any) -> None:
    config, drain, client = at_once
    (eid,) = client.post(FORM_URL, json=LEAD).get_json()["events"]
    drain()
    full = stored(redis_client, eid)
    assert full["status"] == "delivered" and "lead" in full
    assert compact_due(drain.ctx) == 1
    tomb = stored(redis_client, eid)
    assert set(tomb) == kept(full)
    assert {name: tomb[name] for name in kept(full) - {"compacted"}} == \
        {name: full[name] for name in kept(full) - {"compacted"}}
    assert not redis_client.exists(f"leadgate:event:{eid}")
    (bucket,) = redis_client.scan_iter("leadgate:tombstones:*")
    assert 0 < redis_client.ttl(bucket) <= config.dedup_ttl_s + 86_400
    assert redis_client.object("encoding", bucket) in (b"listpack", b"ziplist")
    assert redis_client.zcard("leadgate:compact") == 0
    assert compact_due(drain.ctx) == 0 and stored(redis_client, eid) == tomb   # idempotent
    again = client.post(FORM_URL, json=LEAD).get_json()
    assert again["accepted"] == 0 and again["duplicates"] == 1
    drain()
    assert [lead["contact_email"] for lead in megasim.leads()] == ["ada@example.com"]

    shown = client.get(f"/v1/events/{eid}", headers=ADMIN).get_json()
    assert shown["status"] == "delivered" and shown["lead_id"] == full["lead_id"]
    assert shown["compacted"] > 0 and "compacted" in shown["note"] and "lead" not in shown
    assert sign_in(client).status_code == 302
    page = client.get(f"/console/events/{eid}").data.decode()
    assert "Details compacted" in page and full["lead_id"] in page and "MEGA row" not in page
    found = search(client, "ada@example.com").decode()
    assert eid in found and "compacted" in found


def test_records_compact_only_after_their_retention(config: Any, redis_client: redis.Redis,
                                                     client: Any, drain: Any) -> None:
    (eid,) = client.post(FORM_URL, json=LEAD).get_json()["events"]
    drain()
    assert compact_due(drain.ctx) == 0 and "lead" in stored(redis_client, eid)
    hours = config.server.record_retention_hours
    later = Store(redis_client, clock=lambda: time.time() + hours * 3600 + 60)
    assert later.compact(retention_ms=config.record_retention_ms,
                         dedup_ttl_s=config.dedup_ttl_s) == 1
    assert "compacted" in stored(redis_client, eid)


def test_dead_letters_and_held_leads_never_compact(
        at_once: tuple[Any, Any, Any], redis_client: redis.Redis, megasim: Any) -> None:
    _, drain, client = at_once
    megasim.faults(reject_containing="Reject")
    (dead,) = client.post(FORM_URL, json={"name": "Reject Me"}).get_json()["events"]
    (held,) = client.post(FORM_URL, json={"name": "Held"}).get_json()["events"]
    drain()
    redis_client.hset(f"leadgate:event:{held}", "status", "held")   # as a parked route leaves it
    redis_client.zadd("leadgate:compact", {dead: 0, held: 0})        # even if queued by mistake
    compact_due(drain.ctx)
    assert stored(redis_client, dead)["status"] == "dead" and "lead" in stored(redis_client, dead)
    assert "lead" in stored(redis_client, held) and "compacted" not in stored(redis_client, held)


def test_two_workers_compacting_at_once_leave_one_tombstone_each(
        redis_client: redis.Redis, config: Any, client: Any, drain: Any) -> None:
    ids = [client.post(FORM_URL, json={**LEAD, "email": f"l{i}@example.com"}).get_json()
           ["events"][0] for i in range(40)]
    drain()
    stores = [Store(redis_client), Store(redis_client)]
    threads = [threading.Thread(target=lambda s=s: s.compact(retention_ms=0, dedup_ttl_s=TTL_S,
                                                             limit=3))
               for s in stores for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    while stores[0].compact(retention_ms=0, dedup_ttl_s=TTL_S):
        pass
    records = [stored(redis_client, eid) for eid in ids]
    assert all(set(r) == {"compacted", *TOMBSTONE_FIELDS} - {"provider_id"} for r in records)
    assert all(r["status"] == "delivered" and r["lead_id"] for r in records)


def test_long_values_are_chunked_so_the_event_hash_stays_compact(
        redis_client: redis.Redis, config: Any, client: Any, drain: Any, megasim: Any) -> None:
    long_message = "é" + "x" * 300
    (eid,) = client.post(FORM_URL, json={**LEAD, "message": long_message}).get_json()["events"]
    drain()
    key = f"leadgate:event:{eid}"
    assert redis_client.object("encoding", key) in (b"listpack", b"ziplist")
    assert len(max(redis_client.hvals(key), key=len)) <= 64
    event = Store(redis_client).event(eid)
    assert event is not None
    record = event.to_fields()
    assert "log" not in record
    assert long_message in json.loads(record["unmapped"]).values()
    assert json.loads(record["lead"])["contact_email"] == "ada@example.com"
    index = Index.from_config(config)
    for i in range(defaults.ATTEMPT_LOG_SIZE + 5):
        index.attempt(redis_client, [eid], {"at": i, "kind": "replay", "note": "n" * 70})
    log = index.attempts(redis_client, eid)
    assert [e["at"] for e in log][-defaults.ATTEMPT_LOG_SIZE:] == \
        list(range(5, defaults.ATTEMPT_LOG_SIZE + 5))
    assert len(log) == defaults.ATTEMPT_LOG_SIZE
    assert redis_client.object("encoding", key) in (b"listpack", b"ziplist")


def test_a_shorter_value_leaves_no_chunks_behind(redis_client: redis.Redis) -> None:
    keys = Keys()
    redis_client.hset(keys.owners, "acme", "tok")
    lease = Lease(redis_client, keys, "acme", "tok")
    lease.apply(Writes().event(keys.event("evt_x"), {"last_error": "e" * 200, "status": "held"}))
    assert unpacked(redis_client.hgetall(keys.event("evt_x")))["last_error"] == "e" * 200
    lease.apply(Writes().event(keys.event("evt_x"), {"last_error": "short"}))
    assert redis_client.hgetall(keys.event("evt_x")) == {b"le": b"short",    # short names
                                                        b"status": b"held"}


def test_record_retention_hours_takes_fractions_and_refuses_negatives(
        config_dict: dict[str, Any], redis_server: Any) -> None:
    config_dict["server"]["record_retention_hours"] = 0.5
    assert build(config_dict, redis_server.url).record_retention_ms == 1_800_000
    config_dict["server"]["record_retention_hours"] = -1
    with pytest.raises(ConfigError, match="record_retention_hours"):
        build(config_dict, redis_server.url)


def compacted_by_hand(r: redis.Redis, fields: dict[str, str], *, now: float) -> Store:
    """An event stored as the intake and the flush leave it, then compacted at `now`."""
    eid = fields["id"]
    r.hset(f"leadgate:event:{eid}", mapping={**fields, "lead": "{}", "log": "x" * 90})
    r.pexpire(f"leadgate:event:{eid}", 7 * 86_400_000)
    r.zadd("leadgate:compact", {eid: 0})
    store = Store(r, clock=lambda: now)
    assert store.compact(retention_ms=0, dedup_ttl_s=TTL_S) == 1
    assert not r.exists(f"leadgate:event:{eid}")
    return store


def test_a_tombstone_keeps_long_names_and_any_lead_id(redis_client: redis.Redis,
                                                       config: Any) -> None:
    now = time.time()
    fields = {"id": event_id("acme", "typeform", "tok_1"), "status": "delivered",
              "customer": "a-customer-with-quite-a-long-name",
              "route": "a-route-with-an-even-longer-name-than-that", "source": "typeform",
              "provider_id": "tok_1\x1fodd", "received_at": "1777636800123",
              "finished_at": "1777636805000", "lead_id": "lead-42", "outcome": "merged"}
    store = compacted_by_hand(redis_client, fields, now=now)
    assert stored(redis_client, fields["id"]) == {**fields, "compacted": str(int(now * 1000))}
    record = {**fields, "status": "pending", "customer": "acme", "route": "acme-form"}
    assert store.ingest(config.customers["acme"], [record], 86_400) == [False]
    assert store.stored([fields["id"], event_id("acme", "typeform", "tok_2")]) == [True, False]


def test_a_test_event_compacts_with_its_uuid_and_goes_with_its_day(
        redis_client: redis.Redis, config: Any) -> None:
    now = time.time()
    lead_id = "049e2d45-527f-4f8a-bb37-6f3e9617f881"
    fields = {"id": event_id("acme", "generic", "sha256:ab"), "status": "test",
              "customer": "acme", "route": "acme-form", "source": "generic",
              "provider_id": "sha256:ab", "received_at": str(int(now * 1000) - 5),
              "lead_id": lead_id}
    compacted_by_hand(redis_client, fields, now=now)
    (bucket,) = redis_client.scan_iter("leadgate:tombstones:*")
    assert len(max(redis_client.hvals(bucket), key=len)) <= 64
    tomb = stored(redis_client, fields["id"])
    assert tomb and tomb["lead_id"] == lead_id and "provider_id" not in tomb
    assert "finished_at" not in tomb and tomb["compacted"] == str(int(now * 1000))
    later = Store(redis_client, clock=lambda: now + 9 * 86_400)
    assert later.event(fields["id"]) is None
    assert later.ingest(config.customers["acme"], [{**fields, "status": "pending"}],
                        86_400) == [True]


def test_a_record_without_a_ttl_keeps_its_tombstone_for_the_configs_dedup_ttl(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        drain_factory: Any, megasim: Any) -> None:
    """The fallback for a record that has no TTL (an older version's, a PERSIST) is
    server.dedup_ttl_days, not the built-in default."""
    config_dict["server"].update(record_retention_hours=0, dedup_ttl_days=2)
    config = build(config_dict, redis_server.url)
    drain, client = drain_factory(config), create_app(config).test_client()
    (eid,) = client.post(FORM_URL, json=LEAD).get_json()["events"]
    drain()
    redis_client.persist(f"leadgate:event:{eid}")
    before = time.time()
    assert compact_due(drain.ctx) == 1
    (bucket,) = redis_client.scan_iter("leadgate:tombstones:*")
    day = int(bucket.decode().split(":")[2])
    assert day == int((before + 2 * 86_400) * 1000) // 86_400_000
    assert Store(redis_client, clock=lambda: before + 3 * 86_400).event(eid) is None
