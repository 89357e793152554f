"""The contact index and the MEGA-call log (gateway/store/index.py): keyed digests, no contact in a
key name, and the last few calls kept."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import redis

from gateway import defaults
from gateway.config import Config, config_from_dict
from gateway.domain.leads import draft_event
from gateway.domain.records import DAY_MS
from gateway.domain.sources import SOURCES
from gateway.domain.sources.base import Draft
from gateway.store.index import Index, derive
from gateway.store.keys import Keys
from gateway.store.store import Store
from gateway.web.console import read


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
    assert found(idx, redis_client, [digest], now) == {"evt_" + "ab" * 16, "evt_old"}
    assert found(idx, redis_client, [idx.digest("email", "bob@example.com")], now) == set()


def found(idx: Index, client: redis.Redis, digests: list[str], now: int) -> set[str]:
    """Every id a search for these digests finds, over all its days."""
    return {eid for day in idx.search(client, digests, idx.days(now)) for eid in day}


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


# -- a contact's cost bounded: O(1) adds, a daily limit, a search read in chunks --------------
ROUTES = {"server": {"admin_token": "test-admin-token-0123456789abcdef"},
          "customers": {"c": {"customer_id": "11111111-1111-4111-8111-111111111111",
                              "token": "t", "linger_ms": 60_000}},
          "routes": {"r": {"customer": "c", "source": "generic", "url_token": "u" * 24}}}
DAY_S = 86_400


@pytest.fixture
def setup(redis_server: Any, redis_client: redis.Redis) -> tuple[Config, Store]:
    config = config_from_dict(ROUTES, env={"REDIS_URL": redis_server.url})
    return config, Store(redis_client, index=Index.from_config(config))


def webhooks(config: Config, at: float, n: int, *, tag: str = "", test: bool = False,
             email: str = "bot@example.com") -> list[dict[str, str]]:
    """n records of one contact as the intake builds them, received at `at` (s) + i ms."""
    return [draft_event(config.routes["r"], SOURCES["generic"], Draft(
        event_id=f"{tag}{at}-{i}", lead={"contact_email": email}, fields={}, used=set(),
        test=test), at + i / 1000).to_fields() for i in range(n)]


def ingest(store: Store, config: Config, records: list[dict[str, str]]) -> list[str]:
    for at in range(0, len(records), 100):
        store.ingest(config.customers["c"], records[at:at + 100], config.dedup_ttl_s)
    return [r["id"] for r in records]


def test_adding_to_a_busy_contact_neither_reads_nor_rewrites_its_entries(
        setup: tuple[Config, Store], redis_client: redis.Redis) -> None:
    config, store = setup
    noon = (time.time() // DAY_S) * DAY_S + DAY_S / 2 - DAY_S
    ingest(store, config, webhooks(config, noon, 300))
    redis_client.config_resetstat()
    store.add_contacts(webhooks(config, noon + 1, 1), int(time.time() * 1000))  # contact_add
    calls = {name[8:]: stat["calls"] for name, stat in
             redis_client.info("commandstats").items() if name.startswith("cmdstat_")}
    assert calls.get("append") == 1 and "hget" not in calls and "hset" not in calls
    (bucket,) = [k for k in redis_client.scan_iter("leadgate:contacts:*")
                 if redis_client.type(k) == b"hash"]
    assert redis_client.object("encoding", bucket) == b"listpack"  # no value past 64 bytes
    assert max(map(len, redis_client.hvals(bucket))) <= 64


def test_a_contact_is_found_by_its_first_thousand_events_a_day(
        setup: tuple[Config, Store], redis_client: redis.Redis) -> None:
    config, store = setup
    limit, noon = defaults.CONTACT_DAY_LIMIT, (time.time() // DAY_S) * DAY_S - DAY_S / 2
    ids = ingest(store, config, webhooks(config, noon, limit + 5))
    late = webhooks(config, noon + 5, 1, tag="late")                 # a Meta lead, enriched
    ingest(store, config, [{**late[0], "lead": "{}"}])
    store.add_contacts(late, int(time.time() * 1000))
    idx, now = store.index, int(time.time() * 1000)
    assert idx is not None
    days = idx.days(now)
    assert sorted(found(idx, redis_client, [idx.digest("email", "bot@example.com")], now)) \
        == sorted(ids[:limit])
    assert idx.left_out(redis_client, [idx.digest("email", "bot@example.com")], days) == {
        int(noon * 1000) // DAY_MS: 6}
    assert all(store.events(ids[limit:] + [late[0]["id"]]))         # stored all the same
    counter = json.dumps(["leadgate_contact_index_left_out", {}], separators=(",", ":"))
    assert float(redis_client.hget(Keys().metrics, counter) or 0) == 6


class Recorded(redis.Connection):
    """A connection that notes the size of every answer Redis gives it (bytes in all)."""

    sizes: list[int]

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        answer = super().read_response(*args, **kwargs)
        self.sizes.append(size(answer))
        return answer


def size(answer: Any) -> int:
    if isinstance(answer, bytes):
        return len(answer)
    if isinstance(answer, list | tuple):
        return sum(map(size, answer))
    if isinstance(answer, dict):
        return sum(size(k) + size(v) for k, v in answer.items())
    return 0


def test_a_search_reads_a_long_history_in_chunks_and_finds_each_event_once(
        setup: tuple[Config, Store], redis_server: Any, redis_client: redis.Redis) -> None:
    config, store = setup
    today = (time.time() // DAY_S) * DAY_S
    ids = []
    for back in (3, 2, 1):                                    # three busy days, then today
        ids += ingest(store, config, webhooks(config, today - back * DAY_S + 60, 700))
    ids += ingest(store, config, webhooks(config, today + 1, 20, tag="t", test=True))
    # today's: tombstones now
    assert store.compact(retention_ms=0, dedup_ttl_s=config.dedup_ttl_s) == 20
    store.add_contacts([store.event(ids[5]).to_fields()], int(time.time() * 1000))  # again
    sizes: list[int] = []
    spied = redis.Redis.from_url(redis_server.url, connection_class=type(
        "Spy", (Recorded,), {"sizes": sizes}))
    reader = Store(spied, index=store.index)
    query = read.Query(contact=[store.index.digest("email", "bot@example.com")])
    pages: list[str] = []
    while True:
        page, query.cursor = read.find_events(reader, query, limit=500, scan_limit=800)
        pages += [r["id"] for r in page]
        if not query.cursor:
            break
    assert pages == ids[::-1]                                  # newest first, each once
    assert max(sizes) <= defaults.CONTACT_READ_CHUNK * 17      # no answer over a chunk
