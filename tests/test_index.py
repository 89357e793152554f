"""The contact index and the MEGA-call log (gateway/store/index.py): keyed digests, no contact in a
key name, and the last few calls kept."""

from __future__ import annotations

import json

import redis

from gateway.store.index import Index, derive
from gateway.store.keys import Keys


def index(secret: bytes = b"s" * 32) -> Index:
    return Index(Keys(), derive(secret, b"contact"), 3600)


def test_contact_entries_are_keyed_digests_without_the_contact() -> None:
    lead = {"contact_email": "ada@example.com", "contact_phone": "+15550100"}
    digests = index().contact_digests(lead)
    entries = [index().entry(digest, 1_777_636_800_000) for digest in digests]
    assert len(entries) == 2 and all(key.startswith("leadgate:contacts:")
                                     for key, _, _ in entries)
    assert not any("ada" in part or "5550100" in part for entry in entries for part in entry)
    assert index(b"t" * 32).contact_digests(lead) != digests     # another secret, other digests
    assert Index(Keys(), None, 3600).contact_digests(lead) == []  # no secret: no index


def test_a_contact_is_found_in_its_day_bucket_and_in_an_older_per_contact_set(
        redis_client: redis.Redis) -> None:
    idx, now = index(), 1_777_636_800_000
    digest = idx.digest("email", "ada@example.com")
    idx.add_contacts(redis_client, [{"id": "evt_" + "ab" * 16, "received_at": str(now),
                                     "lead": json.dumps({"contact_email": "ada@example.com"})}],
                     now)
    redis_client.zadd(Keys().contact(digest), {"evt_old": now - 1})
    assert idx.found(redis_client, [digest], now) == {"evt_" + "ab" * 16, "evt_old"}
    assert idx.found(redis_client, [idx.digest("email", "bob@example.com")], now) == set()


def test_a_search_finds_the_digest_the_intake_stored() -> None:
    idx = index()
    stored = idx.digest("email", "ada@example.com")
    assert stored in idx.query_digests("Ada@Example.com", ["US"])


def test_calls_logged_before_the_log_field_come_first(redis_client: redis.Redis) -> None:
    """An event from before the `log` field keeps its own list; its timeline reads both."""
    idx, keys = index(), Keys()
    redis_client.hset(keys.event("evt_1"), "id", "evt_1")
    redis_client.rpush(keys.attempts("evt_1"), json.dumps({"at": 1, "kind": "mega"}))
    idx.attempt(redis_client, ["evt_1"], {"at": 2, "kind": "replay"})
    assert [(e["at"], e["kind"]) for e in idx.attempts(redis_client, "evt_1")] == \
        [(1, "mega"), (2, "replay")]
