"""The admin API (gateway/web/admin.py): its token, events, dead letters and their paging."""

from __future__ import annotations

from typing import Any

import pytest
import redis

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
    assert event["lead_id"] and event["attempts"] == 0 and event["finished_at"] > 0
    assert "dead_reason" not in event and "delivery_warning" not in event
