"""Each provider's odd cases: handshakes, pings, test leads, Meta's Graph enrichment."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

from gateway.config import config_from_dict
from gateway.errors import ConfigError
from tests.conftest import ACME_ID, URL_TOKEN, Sim
from tests.samples import (
    GOOGLE,
    INTERCOM,
    JOTFORM_RAW,
    LEAD_ID,
    LIVECHAT,
    META,
    META_TOKEN,
    NOW,
    SECRET,
    UNBOUNCE_DATA,
    WEBFLOW,
    encode,
    hook,
    sign,
    signed,
)

ADMIN = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}


def post(client: Any, source: str, sample: Any, **extra: str) -> Any:
    body, headers = signed(source, sample)
    return client.post(hook(source), data=body, headers={**headers, **extra})


def stored(redis_client: redis.Redis) -> list[bytes]:
    return list(redis_client.scan_iter("leadgate:event:*"))


def events(client: Any, response: Any) -> list[dict[str, Any]]:
    return [client.get(f"/v1/events/{eid}", headers=ADMIN).get_json()
            for eid in response.get_json()["events"]]


# -- Meta --------------------------------------------------------------------------------------
def meta_delivery(*lead_ids: Any) -> dict[str, Any]:
    changes = [{"field": "leadgen", "value": {"leadgen_id": i, "page_id": 112233445566778,
                                              "form_id": 987654321098765}} for i in lead_ids]
    return {"object": "page", "entry": [
        {"id": "112233445566778", "time": NOW, "changes": [
            *changes[:1], {"field": "feed", "value": {"item": "status"}}]},
        {"id": "112233445566778", "time": NOW, "changes": changes[1:]}]}


def test_meta_handshake_echoes_the_challenge_only_for_the_verify_token(
        provider_app: tuple[Any, Any], redis_client: redis.Redis) -> None:
    client, _ = provider_app
    good = client.get(hook("meta_lead_ads"), query_string={
        "hub.mode": "subscribe", "hub.challenge": "1158201444",
        "hub.verify_token": "meta-verify-token"})
    bad = client.get(hook("meta_lead_ads"), query_string={
        "hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "guess"})
    assert (good.status_code, good.get_data(as_text=True)) == (200, "1158201444")
    assert bad.status_code == 403 and "1158201444" not in bad.get_data(as_text=True)
    assert stored(redis_client) == []


def test_meta_every_leadgen_change_is_one_lead_fetched_in_one_graph_call(
        provider_app: tuple[Any, Any], megasim: Sim) -> None:
    client, drain = provider_app
    response = post(client, "meta_lead_ads", meta_delivery("1000000000000001", 1000000000000002))
    assert response.status_code == 200 and response.get_json()["accepted"] == 2
    drain()
    leads = megasim.leads(ACME_ID)
    assert sorted(lead["contact_email"] for lead in leads) == [
        "meta+1000000000000001@example.com", "meta+1000000000000002@example.com"]
    assert all(lead["source_platform"] == "meta_ads" for lead in leads)
    assert megasim.graph()["requests"] == 1


def test_meta_expired_token_holds_the_routes_leads_until_the_token_works(
        provider_app: tuple[Any, Any], megasim: Sim) -> None:
    client, drain = provider_app
    megasim.graph(tokens=["some-other-token"], answers={str(LEAD_ID): [
        {"name": "full_name", "values": ["Meta Person"]},
        {"name": "email", "values": ["meta.person@example.com"]}]})
    (event_id,) = post(client, "meta_lead_ads", META).get_json()["events"]
    drain.step()
    summary = client.get("/v1/customers/acme", headers=ADMIN).get_json()
    assert summary["state"] == "blocked" and "meta token" in summary["reason"]
    assert "expired" in summary["reason"] and megasim.leads(ACME_ID) == []
    assert summary["held"] == 1 and "acme-meta_lead_ads" in summary["held_routes"]
    assert client.get(f"/v1/events/{event_id}", headers=ADMIN).get_json()["status"] == "held"
    # the customer's other routes are not held back by the Meta route
    assert post(client, "typeform", None).status_code == 202
    drain.step()
    assert [lead["contact_name"] for lead in megasim.leads(ACME_ID)] == ["Ana Rivera"]
    graph_calls = megasim.graph()["requests"]
    assert post(client, "meta_lead_ads", meta_delivery(1000000000000004)).status_code == 200
    drain.step()
    assert megasim.graph()["requests"] == graph_calls      # held: Meta is not asked again yet
    megasim.graph(tokens=[META_TOKEN])
    drain(skip_waits=True)
    assert len(megasim.leads(ACME_ID)) == 3
    summary = client.get("/v1/customers/acme", headers=ADMIN).get_json()
    assert (summary["state"], summary["held"], summary["held_routes"]) == ("idle", 0, {})
    assert client.get(f"/v1/events/{event_id}", headers=ADMIN).get_json()["status"] == \
        "delivered"


def test_meta_deleted_lead_is_a_dead_letter_and_the_rest_go_through(
        provider_app: tuple[Any, Any], megasim: Sim) -> None:
    client, drain = provider_app
    megasim.graph(deleted=["1000000000000009"])
    response = post(client, "meta_lead_ads", meta_delivery(1000000000000009, 1000000000000003))
    drain()
    gone, kept = events(client, response)
    assert gone["status"] == "dead" and gone["dead_reason"] == "lead_unavailable"
    assert "not exist" in gone["error"]
    assert kept["status"] == "delivered"
    assert [lead["contact_email"] for lead in megasim.leads(ACME_ID)] == [
        "meta+1000000000000003@example.com"]


def test_meta_throttling_backs_off_then_delivers(provider_app: tuple[Any, Any],
                                                 megasim: Sim) -> None:
    client, drain = provider_app
    megasim.graph(throttle_next=2)
    response = post(client, "meta_lead_ads", META)
    drain.step()
    summary = client.get("/v1/customers/acme", headers=ADMIN).get_json()
    assert summary["state"] == "paused" and summary["reason"] == "meta_throttled"
    drain(skip_waits=True)
    (record,) = events(client, response)
    assert record["status"] == "delivered" and record["failed_attempts"] == 2
    assert record["mega_calls"] == 1                 # Graph failed twice, MEGA was called once
    assert len(megasim.leads(ACME_ID)) == 1


def test_meta_lead_id_as_string_or_number_is_one_event(provider_app: tuple[Any, Any]) -> None:
    client, _ = provider_app
    first = post(client, "meta_lead_ads", meta_delivery(LEAD_ID))
    again = post(client, "meta_lead_ads", meta_delivery(str(LEAD_ID)))
    assert first.get_json()["events"] == again.get_json()["events"]
    assert again.get_json()["duplicates"] == 1


# -- Google ------------------------------------------------------------------------------------
def test_google_test_leads_are_recorded_not_delivered(provider_app: tuple[Any, Any],
                                                      megasim: Sim) -> None:
    client, drain = provider_app
    response = post(client, "google_lead_forms", {**GOOGLE, "is_test": True})
    drain()
    assert response.status_code == 200
    assert [e["status"] for e in events(client, response)] == ["test"]
    assert megasim.leads(ACME_ID) == []


def test_google_accept_test_leads_delivers_them(config_dict: dict[str, Any], megasim: Sim,
                                                redis_server: Any, redis_client: redis.Redis,
                                                drain_factory: Any) -> None:
    from gateway.web.app import create_app
    from tests.conftest import build

    config_dict["routes"]["acme-google_lead_forms"] = {
        "customer": "acme", "source": "google_lead_forms", "google_key": SECRET,
        "accept_test_leads": True}
    config = build(config_dict, redis_server.url)
    client = create_app(config).test_client()
    body = json.dumps({**GOOGLE, "is_test": True}).encode()
    assert client.post(hook("google_lead_forms"), data=body,
                       headers={"Content-Type": "application/json"}).status_code == 200
    drain_factory(config)()
    assert len(megasim.leads(ACME_ID)) == 1


def test_google_capitalised_key_and_first_last_name(provider_app: tuple[Any, Any],
                                                    megasim: Sim) -> None:
    client, drain = provider_app
    sample = {k: v for k, v in GOOGLE.items() if k != "google_key"}
    sample["Google_key"] = SECRET
    sample["user_column_data"] = [
        {"column_id": "FIRST_NAME", "string_value": "Ana"},
        {"column_id": "LAST_NAME", "string_value": "Rivera"},
        {"column_id": "WORK_EMAIL", "string_value": "Ana@Example.com"}]
    assert post(client, "google_lead_forms", sample).status_code == 200
    drain()
    (lead,) = megasim.leads(ACME_ID)
    assert (lead["contact_name"], lead["contact_email"]) == ("Ana Rivera", "ana@example.com")


# -- Webflow -----------------------------------------------------------------------------------
@pytest.mark.parametrize("skew_ms", [-301_000, 301_000])
def test_webflow_timestamp_outside_the_window_is_401(provider_app: tuple[Any, Any],
                                                     redis_client: redis.Redis,
                                                     skew_ms: int) -> None:
    client, _ = provider_app
    body, content_type = encode("webflow", WEBFLOW)
    headers = sign("webflow", body, stamp=str(NOW * 1000 + skew_ms))
    response = client.post(hook("webflow"), data=body,
                           headers={"Content-Type": content_type, **headers})
    assert response.status_code == 401 and "tolerance" in response.get_json()["error"]["message"]
    assert stored(redis_client) == []


def test_webflow_needs_a_secret_or_a_url_token(config_dict: dict[str, Any]) -> None:
    config_dict["routes"]["wf"] = {"customer": "acme", "source": "webflow"}
    with pytest.raises(ConfigError, match="routes.wf"):
        config_from_dict(config_dict)


def test_webflow_unsigned_dashboard_webhook_with_url_token(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        megasim: Sim, drain_factory: Any) -> None:
    from gateway.web.app import create_app
    from tests.conftest import build

    config_dict["routes"]["wf"] = {"customer": "acme", "source": "webflow",
                                   "url_token": URL_TOKEN}
    config = build(config_dict, redis_server.url)
    client = create_app(config).test_client()
    body = json.dumps(WEBFLOW).encode()
    assert client.post("/hooks/wf", data=body,
                       headers={"Content-Type": "application/json"}).status_code == 401
    assert client.post(f"/hooks/wf/{URL_TOKEN}", data=body,
                       headers={"Content-Type": "application/json"}).status_code == 202
    drain_factory(config)()
    assert [lead["contact_phone"] for lead in megasim.leads(ACME_ID)] == ["+14155550123"]


# -- Unbounce and Jotform ----------------------------------------------------------------------
def test_unbounce_submissions_are_told_apart_by_their_content_and_time(
        provider_app: tuple[Any, Any]) -> None:
    client, _ = provider_app
    first = post(client, "unbounce", UNBOUNCE_DATA)
    retried = post(client, "unbounce", UNBOUNCE_DATA)
    later = post(client, "unbounce", {**UNBOUNCE_DATA, "time_submitted": ["11:46 AM UTC"]})
    assert (first.status_code, retried.status_code, later.status_code) == (202, 200, 202)
    assert first.get_json()["events"] == retried.get_json()["events"]
    assert later.get_json()["events"] != first.get_json()["events"]


def test_unbounce_json_body_is_415(provider_app: tuple[Any, Any],
                                   redis_client: redis.Redis) -> None:
    client, _ = provider_app
    response = client.post(hook("unbounce"), json=UNBOUNCE_DATA)
    assert response.status_code == 415 and stored(redis_client) == []


def test_jotform_phone_as_a_string_and_missing_submission_id(
        provider_app: tuple[Any, Any], megasim: Sim, redis_client: redis.Redis) -> None:
    client, drain = provider_app
    missing = client.post(hook("jotform"), data=b"--b\r\nContent-Disposition: form-data; "
                          b'name="rawRequest"\r\n\r\n{}\r\n--b--\r\n',
                          headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert missing.status_code == 400 and stored(redis_client) == []
    assert post(client, "jotform", {**JOTFORM_RAW, "q5_phoneNumber": "415-555-0123"}
                ).status_code == 202
    drain()
    (lead,) = megasim.leads(ACME_ID)
    assert (lead["contact_name"], lead["contact_phone"]) == ("Ana Rivera", "+14155550123")


# -- Intercom ----------------------------------------------------------------------------------
def test_intercom_head_check_ping_and_other_topics(provider_app: tuple[Any, Any],
                                                   redis_client: redis.Redis) -> None:
    client, _ = provider_app
    assert client.head(hook("intercom")).status_code == 200
    ping = post(client, "intercom", {**INTERCOM, "topic": "ping", "id": None})
    closed = post(client, "intercom", {**INTERCOM, "topic": "conversation.admin.closed"})
    assert ping.status_code == 200 and ping.get_json()["ignored"]
    assert closed.status_code == 200 and closed.get_json()["ignored"]
    assert stored(redis_client) == []


def test_intercom_user_started_conversation_is_a_lead(provider_app: tuple[Any, Any],
                                                      megasim: Sim) -> None:
    client, drain = provider_app
    conversation = {**INTERCOM, "topic": "conversation.user.created", "id": "notif_conv_1",
                    "data": {"item": {"type": "conversation", "id": "5017",
                                      "source": {"author": {"type": "lead", "id": "69",
                                                            "name": "Ana Rivera",
                                                            "email": "ana@example.com"},
                                                 "body": "<p>Is the flat available?</p>"}}}}
    assert post(client, "intercom", conversation).status_code == 200
    drain()
    (lead,) = megasim.leads(ACME_ID)
    assert (lead["contact_name"], lead["source_type"]) == ("Ana Rivera", "chat")


# -- LiveChat ----------------------------------------------------------------------------------
def test_livechat_other_actions_are_ignored_and_each_thread_is_its_own_lead(
        provider_app: tuple[Any, Any], redis_client: redis.Redis) -> None:
    client, _ = provider_app
    closed = post(client, "livechat", {**LIVECHAT, "action": "chat_deactivated"})
    assert closed.status_code == 200 and stored(redis_client) == []
    first = post(client, "livechat", LIVECHAT)
    chat = LIVECHAT["payload"]["chat"]
    again = post(client, "livechat", {**LIVECHAT, "payload": {"chat": {
        **chat, "thread": {**chat["thread"], "id": "K600PKZON9"}}}})
    assert first.get_json()["events"] != again.get_json()["events"]
    assert again.get_json()["accepted"] == 1
