"""The admin API (gateway/web/admin.py): its token, events, dead letters and their paging."""

from __future__ import annotations

from typing import Any

import pytest
import redis

from gateway.domain.records import unpacked
from gateway.web.app import create_app
from tests.conftest import Sim, build
from tests.test_delivery import ADMIN, post


def test_admin_api_needs_its_token(client: Any, config_dict: dict[str, Any],
                                   redis_server: Any) -> None:
    assert client.get("/v1/customers").status_code == 401
    assert client.get("/v1/customers", headers={"Authorization": "Bearer nope"}
                      ).status_code == 401
    assert client.get("/v1/customers", headers=ADMIN).status_code == 200
    config_dict["server"]["admin_token"] = ""
    off = create_app(build(config_dict, redis_server.url)).test_client()
    assert off.get("/v1/customers", headers=ADMIN).status_code == 404


def test_purge_and_unknown_ids(client: Any, drain: Any, megasim: Sim) -> None:
    megasim.faults(script=["409"])
    (eid,) = post(client)
    drain()
    assert client.delete(f"/v1/dead-letters/{eid}", headers=ADMIN).status_code == 200
    assert client.get(f"/v1/events/{eid}", headers=ADMIN).status_code == 404
    assert client.post(f"/v1/dead-letters/{eid}/replay", headers=ADMIN).status_code == 404


@pytest.mark.parametrize("query", ["offset=-1", "limit=0", "limit=1001",
                                   "offset=4702862021393363501056", "limit=x"])
def test_dead_letter_paging_out_of_range_is_400(client: Any, query: str) -> None:
    response = client.get(f"/v1/dead-letters?{query}", headers=ADMIN)
    assert response.status_code == 400 and "bad query" in response.get_json()["error"]["message"]


def test_a_hash_without_an_event_is_no_event(client: Any, redis_client: redis.Redis) -> None:
    """A stray write to an event key (a status set after the record expired) makes no event:
    404, not a 500."""
    redis_client.hset("leadgate:event:evt_stray", "status", "pending")
    response = client.get("/v1/events/evt_stray", headers=ADMIN)
    assert response.status_code == 404
    assert client.post("/v1/dead-letters/evt_stray/replay", headers=ADMIN).status_code == 404


def test_an_event_shows_its_outcome_as_stored(client: Any, drain: Any, megasim: Sim) -> None:
    (eid,) = post(client)
    drain()
    event = client.get(f"/v1/events/{eid}", headers=ADMIN).get_json()
    assert event["status"] == "delivered" and event["outcome"] == "created"
    assert event["lead_id"] and event["finished_at"] > 0
    assert (event["mega_calls"], event["failed_attempts"]) == (1, 0)
    assert "attempts" not in event
    assert "dead_reason" not in event and "delivery_warning" not in event


def test_mega_calls_and_failed_attempts_count_each_call_over_replays(
        client: Any, drain: Any, megasim: Sim) -> None:
    """A 500 (a failed attempt, retried), a 409 (a dead letter, not an attempt), a replay
    delivered: three MEGA calls, one failed attempt, as the timeline shows them."""
    megasim.faults(script=["500", "409"])
    (eid,) = post(client)
    drain(skip_waits=True)
    event = client.get(f"/v1/events/{eid}", headers=ADMIN).get_json()
    assert event["status"] == "dead"
    assert (event["mega_calls"], event["failed_attempts"]) == (2, 1)
    assert client.post(f"/v1/dead-letters/{eid}/replay", headers=ADMIN).status_code == 202
    drain(skip_waits=True)
    event = client.get(f"/v1/events/{eid}", headers=ADMIN).get_json()
    assert event["status"] == "delivered" and event["replays"] == 1
    assert (event["mega_calls"], event["failed_attempts"]) == (3, 1)
    assert [r["status"] for r in megasim.requests()] == ["500", "409", "201"]


def test_the_call_count_outlives_the_timeline_it_keeps(
        client: Any, drain: Any, megasim: Sim, redis_client: redis.Redis,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway import defaults

    monkeypatch.setattr(defaults, "ATTEMPT_LOG_SIZE", 2)       # the timeline keeps 2 calls
    megasim.faults(script=["500", "500", "500"])
    (eid,) = post(client)
    drain(skip_waits=True)
    event = client.get(f"/v1/events/{eid}", headers=ADMIN).get_json()
    assert event["status"] == "delivered"
    assert (event["mega_calls"], event["failed_attempts"]) == (4, 3)
    log = unpacked(redis_client.hgetall(f"leadgate:event:{eid}"))["log"]
    assert log.count('"kind":"mega"') == 2


def test_a_record_from_before_the_call_count_reads_its_calls_off_its_timeline(
        client: Any, drain: Any, megasim: Sim, redis_client: redis.Redis) -> None:
    """Records already in Redis have no `mega_calls` (stored as `n`): the calls on their
    timeline count; with no timeline either, a delivered lead had at least its one call."""
    megasim.faults(script=["500"])
    first, second = post(client, 2)                  # one bulk batch: a 500, then a 201
    drain(skip_waits=True)
    for eid in (first, second):
        assert redis_client.hdel(f"leadgate:event:{eid}", "n") == 1
    redis_client.hdel(f"leadgate:event:{second}", "g")
    old = client.get(f"/v1/events/{first}", headers=ADMIN).get_json()
    assert (old["mega_calls"], old["failed_attempts"]) == (2, 1)
    bare = client.get(f"/v1/events/{second}", headers=ADMIN).get_json()
    assert bare["status"] == "delivered" and bare["mega_calls"] == 1


def test_a_compacted_event_shows_no_counts_it_no_longer_keeps() -> None:
    from gateway.web.admin import public

    shown = public({"id": "evt_1", "status": "delivered", "attempts": "0",
                    "compacted": "1700000000000"})
    assert "mega_calls" not in shown and "failed_attempts" not in shown
    assert "attempts" not in shown and shown["note"].startswith("details compacted")
