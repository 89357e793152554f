"""Webhook to MEGA through the real dispatcher, an RQ worker and megasim over HTTP."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import redis

from gateway.domain.records import unpacked
from gateway.web.app import create_app
from tests.conftest import ACME_ID, GLOBEX_ID, URL_TOKEN, Sim, build

FORM_URL = f"/hooks/acme-form/{URL_TOKEN}"


def event(redis_client: redis.Redis, eid: str) -> dict[str, str]:
    return unpacked(redis_client.hgetall(f"leadgate:event:{eid}"))


def post_many(client: Any, url: str, n: int, start: int = 0) -> list[str]:
    ids = []
    for i in range(start, start + n):
        response = client.post(url, json={"email": f"lead{i}@example.com", "name": f"Lead {i}"})
        assert response.status_code == 202
        ids.extend(response.get_json()["events"])
    return ids


def calls(megasim: Sim, endpoint: str) -> list[dict[str, Any]]:
    return [r for r in megasim.requests() if r["endpoint"] == endpoint]


def test_json_webhook_becomes_the_right_mega_lead(client: Any, drain: Any, megasim: Sim,
                                                  redis_client: redis.Redis) -> None:
    response = client.post(FORM_URL, json={"name": "Ada Lovelace", "email": "ADA@example.com",
                                           "phone": "(206) 555-0100", "budget": 750000})
    drain()
    (lead,) = megasim.leads(ACME_ID)
    assert lead["contact_name"] == "Ada Lovelace"
    assert lead["contact_email"] == "ada@example.com"
    assert lead["contact_phone"] == "+12065550100"
    assert (lead["source_platform"], lead["source_type"]) == ("direct", "form")
    assert lead["current_stage"]["slug"] == "new"
    assert lead["custom_fields"] == {"budget": 750000}
    record = event(redis_client, response.get_json()["events"][0])
    assert record["status"] == "delivered" and record["lead_id"] == lead["id"]
    assert record["endpoint"] == "single"   # auto with one lead: a single create


def test_form_webhook_end_to_end(client: Any, drain: Any, megasim: Sim) -> None:
    client.post(FORM_URL, data={"full_name": "Grace Hopper", "email": "g@navy.mil",
                                "budget": "1"})
    drain()
    (lead,) = megasim.leads(ACME_ID)
    assert lead["contact_name"] == "Grace Hopper" and lead["custom_fields"] == {"budget": "1"}


def test_same_webhook_three_times_yields_one_lead(client: Any, drain: Any,
                                                  megasim: Sim) -> None:
    body = {"name": "Only Name"}     # no email or phone: MEGA's dedup cannot hide a duplicate
    statuses = [client.post(FORM_URL, json=body).status_code for _ in range(3)]
    drain()
    statuses.append(client.post(FORM_URL, json=body).status_code)  # after delivery, too
    drain()
    assert statuses == [202, 200, 200, 200]
    assert len(megasim.leads(ACME_ID)) == 1
    assert len(megasim.requests()) == 1


def test_1200_leads_reach_megasim_in_at_most_3_bulk_calls(client: Any, drain: Any,
                                                          megasim: Sim,
                                                          redis_client: redis.Redis) -> None:
    ids = post_many(client, FORM_URL, 1200)
    drain()
    bulk = calls(megasim, "bulk")
    assert len(bulk) <= 3 and not calls(megasim, "single")
    assert len(megasim.leads(ACME_ID)) == 1200
    statuses = Counter(event(redis_client, eid)["status"] for eid in ids)
    assert statuses == {"delivered": 1200}


def test_single_mode_makes_only_single_creates(config_dict: dict[str, Any], redis_server: Any,
                                               redis_client: redis.Redis, megasim: Sim,
                                               drain_factory: Any) -> None:
    config_dict["customers"]["acme"]["delivery"] = "single"
    config = build(config_dict, redis_server.url)
    client = create_app(config).test_client()
    post_many(client, FORM_URL, 5)
    drain_factory(config)()
    assert len(calls(megasim, "single")) == 5 and not calls(megasim, "bulk")
    assert len(megasim.leads(ACME_ID)) == 5


def test_two_customers_are_never_mixed_in_one_call(client: Any, drain: Any,
                                                   megasim: Sim) -> None:
    post_many(client, FORM_URL, 30)
    post_many(client, f"/hooks/globex-form/{URL_TOKEN}", 30, start=100)
    drain()
    assert len(megasim.leads(ACME_ID)) == len(megasim.leads(GLOBEX_ID)) == 30
    assert {lead["contact_email"] for lead in megasim.leads(GLOBEX_ID)} == {
        f"lead{i}@example.com" for i in range(100, 130)}
    assert len(calls(megasim, "bulk")) == 2


def test_5xx_then_success_resends_the_same_bytes_and_key(client: Any, drain: Any,
                                                         megasim: Sim,
                                                         redis_client: redis.Redis) -> None:
    megasim.faults(script=["error", "503"])
    eid = client.post(FORM_URL, json={"name": "Retry Me"}).get_json()["events"][0]
    drain()
    attempts = megasim.requests()
    assert [a["status"] for a in attempts] == ["500", "503", "201"]
    assert len({(a["idempotency_key"], a["body_sha256"]) for a in attempts}) == 1
    assert len(megasim.leads(ACME_ID)) == 1
    record = event(redis_client, eid)
    assert record["status"] == "delivered" and record["attempts"] == "2"


def test_commit_then_fail_then_success_is_exactly_one_lead(client: Any, drain: Any,
                                                           megasim: Sim) -> None:
    megasim.faults(script=["commit_then_fail", "drop_after_commit"])
    post_many(client, FORM_URL, 3)    # a bulk call: committed twice, answered once
    drain()
    assert [a["status"] for a in megasim.requests()] == ["503", "dropped", "200"]
    assert len(megasim.leads(ACME_ID)) == 3


def test_bulk_outcomes_are_recorded_per_event(client: Any, drain: Any, megasim: Sim,
                                              redis_client: redis.Redis) -> None:
    megasim.http.post("/api/agents/crm/leads", json={"contact_email": "lead0@example.com"},
                      headers={"Authorization": f"Bearer {'mega_' + 'a' * 64}",
                               "x-customer-id": ACME_ID})
    ids = post_many(client, FORM_URL, 2)
    drain()
    first, second = (event(redis_client, eid) for eid in ids)
    assert (first["outcome"], first["matched_by"]) == ("updated", "email")
    assert (second["outcome"], second["matched_by"]) == ("created", "")
    assert first["lead_id"] and json.loads(second["ignored_custom_fields"]) == []
