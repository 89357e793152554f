"""The contact index and the MEGA-call log (gateway/store/index.py): keyed digests, no contact in a
key name, and the last few calls kept."""

from __future__ import annotations

import json

import redis

from gateway.store.index import Index, derive
from gateway.store.keys import Keys


def index(secret: bytes = b"s" * 32) -> Index:
    return Index(Keys(), derive(secret, b"contact"), 3600)


def test_contact_keys_are_keyed_digests_without_the_contact() -> None:
    lead = {"contact_email": "ada@example.com", "contact_phone": "+15550100"}
    keys = index().contact_keys(lead)
    assert len(keys) == 2 and all(k.startswith("leadgate:contact:") for k in keys)
    assert not any("ada" in k or "5550100" in k for k in keys)
    assert index(b"t" * 32).contact_keys(lead) != keys           # another secret, other keys
    assert Index(Keys(), None, 3600).contact_keys(lead) == []     # no secret: no index


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
