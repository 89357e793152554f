"""Shopify, HighLevel and HubSpot: each delivery kind, its signature's edges, the CRM read."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
import redis
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hubspot.utils.signature import Signature

from gateway.domain.sources import SOURCES
from gateway.domain.sources.base import Inbound
from tests.conftest import ACME_ID, URL_TOKEN, Sim, build, stored_keys
from tests.samples import (
    GHL,
    GHL_PUBLIC,
    HEADERS,
    HUBSPOT,
    HUBSPOT_SECRET,
    HUBSPOT_URL,
    NOW,
    SECRET,
    SHOPIFY,
    SHOPIFY_ORDER,
    ghl_sign,
    hubspot_sign,
    sign,
)
from workers.hubspot.crm import HubSpotClient, HubSpotError

ADMIN = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}
JSON = {"Content-Type": "application/json"}
TOKEN = "pat-na1-private-app-token"


@pytest.fixture(autouse=True)
def empty_redis(redis_client: redis.Redis) -> None:
    """Every test starts from an empty Redis (the fixture flushes it)."""


def app_with(config_dict: dict[str, Any], redis_server: Any, drain_factory: Any,
             **routes: dict[str, Any]) -> tuple[Any, Any]:
    """An app with these routes of acme (name -> settings), clock at NOW."""
    from gateway.web.app import create_app

    for name, settings in routes.items():
        config_dict["routes"][name] = {"customer": "acme", **settings}
    config = build(config_dict, redis_server.url)
    return create_app(config, clock=lambda: NOW).test_client(), drain_factory(config)


def shopify_post(client: Any, path: str, body: dict[str, Any], topic: str) -> Any:
    raw = json.dumps(body).encode()
    headers = {**JSON, **HEADERS["shopify"], "X-Shopify-Topic": topic, **sign("shopify", raw)}
    return client.post(path, data=raw, headers=headers)


# Shopify

def test_shopify_signer_matches_the_documented_scheme() -> None:
    """base64 HMAC-SHA256 of the raw body with the app's secret, computed once outside."""
    assert sign("shopify", b'{"id":1}') == {
        "X-Shopify-Hmac-Sha256": "3dcNODJ5GI8JwE1Tlvf3ZWSk3UUA43gi0T0gEr4XdJc="}


def test_shopify_a_new_customers_order_and_the_customer_are_one_lead(
        config_dict: dict[str, Any], redis_server: Any, drain_factory: Any,
        megasim: Sim) -> None:
    client, drain = app_with(config_dict, redis_server, drain_factory, **{
        "acme-shop": {"source": "shopify", "secret": SECRET, "orders": True}})
    first = shopify_post(client, "/hooks/acme-shop", SHOPIFY_ORDER, "orders/create")
    again = shopify_post(client, "/hooks/acme-shop", SHOPIFY, "customers/create")
    assert (first.status_code, first.get_json()["accepted"]) == (200, 1)
    assert (again.status_code, again.get_json()["duplicates"]) == (200, 1)
    drain()
    (lead,) = megasim.leads(ACME_ID)
    assert (lead["contact_name"], lead["contact_phone"], lead["source_platform"]) == (
        "Ana Rivera", "+14155550123", "shopify")


def test_shopify_orders_off_returning_customers_and_guests_are_ignored(
        config_dict: dict[str, Any], redis_server: Any, drain_factory: Any,
        redis_client: redis.Redis) -> None:
    client, _ = app_with(config_dict, redis_server, drain_factory, **{
        "acme-shop": {"source": "shopify", "secret": SECRET, "orders": True},
        "acme-shop-plain": {"source": "shopify", "secret": SECRET}})
    returning = {**SHOPIFY_ORDER, "customer": {**SHOPIFY_ORDER["customer"],
                                               "created_at": "2025-01-02T08:00:00-04:00"}}
    guest = {**SHOPIFY_ORDER, "customer": None}
    for path, body, topic in (("/hooks/acme-shop-plain", SHOPIFY_ORDER, "orders/create"),
                              ("/hooks/acme-shop", returning, "orders/create"),
                              ("/hooks/acme-shop", guest, "orders/create"),
                              ("/hooks/acme-shop", SHOPIFY, "customers/update")):
        answer = shopify_post(client, path, body, topic)
        assert answer.status_code == 200 and answer.get_json()["ignored"], (path, topic)
    assert stored_keys(redis_client) == []


# HighLevel

def test_ghl_rsa_legacy_signature_and_a_wrong_key(
        config_dict: dict[str, Any], redis_server: Any, drain_factory: Any,
        redis_client: redis.Redis) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    client, _ = app_with(config_dict, redis_server, drain_factory, **{
        "acme-ghl": {"source": "gohighlevel", "public_key": GHL_PUBLIC,
                     "rsa_public_key": pem}})
    body = json.dumps(GHL).encode()
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = [{"X-WH-Signature": base64.b64encode(other.sign(
                  body, padding.PKCS1v15(), hashes.SHA256())).decode()},
              ghl_sign(body, key=Ed25519PrivateKey.generate()),
              {"X-GHL-Signature": "not base64!"}, {}]
    for headers in forged:
        assert client.post("/hooks/acme-ghl", data=body, headers={**JSON, **headers}
                           ).status_code == 401, headers
    assert stored_keys(redis_client) == []
    legacy = {"X-WH-Signature": base64.b64encode(rsa_key.sign(
        body, padding.PKCS1v15(), hashes.SHA256())).decode()}
    assert client.post("/hooks/acme-ghl", data=body, headers={**JSON, **legacy}
                       ).status_code == 200


def workflow_body(source: str) -> bytes:
    """A workflow "Webhook" action's delivery (standard data) for Ana."""
    return json.dumps({"contact_id": "nmFmQEsNgz6AVpgLVUJ0", "first_name": "Ana",
                       "last_name": "Rivera", "email": "ana@example.com",
                       "phone": "+14155550123", "tags": "",
                       "contact_source": source, "contact_type": "lead",
                       "location": {"name": "Acme", "id": "ve9EPM428h8vShlRW1KT"},
                       "workflow": {"id": "0b1a", "name": "New lead"}, "triggerData": {},
                       "customData": {"budget": "$5k-$10k"}}).encode()


@pytest.mark.parametrize(("source", "kind"), [
    ("chat widget", "chat"), ("Inbound Call", "phone_call"), ("form: Get a quote", "form"),
    ("", "form")])
def test_ghl_workflow_webhook_by_url_token_takes_its_type_from_the_contact_source(
        config_dict: dict[str, Any], redis_server: Any, drain_factory: Any, megasim: Sim,
        source: str, kind: str) -> None:
    client, drain = app_with(config_dict, redis_server, drain_factory, **{
        "acme-ghl": {"source": "gohighlevel", "url_token": URL_TOKEN,
                     "fields": {"customData.budget": "custom_fields.budget"}}})
    assert client.post("/hooks/acme-ghl", data=workflow_body(source), headers=JSON
                       ).status_code == 401            # no URL token
    answers = [client.post(f"/hooks/acme-ghl/{URL_TOKEN}", data=workflow_body(source),
                           headers=JSON) for _ in range(2)]
    assert [a.get_json()["accepted"] for a in answers] == [1, 0]
    drain()
    (lead,) = megasim.leads(ACME_ID)
    assert (lead["source_type"], lead["source_platform"], lead["contact_name"]) == (
        kind, "ghl", "Ana Rivera")                  # not the location's name
    assert lead["custom_fields"]["budget"] == "$5k-$10k"


def test_ghl_app_webhook_and_workflow_webhook_of_one_contact_are_one_lead(
        provider_app: tuple[Any, Any], megasim: Sim) -> None:
    client, drain = provider_app
    body = json.dumps(GHL).encode()
    assert client.post("/hooks/acme-gohighlevel", data=body,
                       headers={**JSON, **ghl_sign(body)}).get_json()["accepted"] == 1
    other = json.dumps({**GHL, "type": "ContactUpdate"}).encode()
    assert client.post("/hooks/acme-gohighlevel", data=other,
                       headers={**JSON, **ghl_sign(other)}).get_json()["ignored"]
    drain()
    assert len(megasim.leads(ACME_ID)) == 1


def test_ghl_settings_take_only_public_keys_of_their_kind(config_dict: dict[str, Any],
                                                          redis_server: Any) -> None:
    from gateway.errors import ConfigError

    for settings in ({}, {"public_key": "not a key"},
                     {"rsa_public_key": GHL_PUBLIC}):     # an Ed25519 key where RSA goes
        config_dict["routes"]["acme-ghl"] = {"customer": "acme", "source": "gohighlevel",
                                             **settings}
        with pytest.raises(ConfigError):
            build(config_dict, redis_server.url)


# HubSpot

def test_hubspot_signer_agrees_with_hubspots_library_at_the_real_time() -> None:
    """Signed by leadgate's signer now, accepted by the official helper (which checks the
    timestamp against the wall clock), and the helper's signature accepted by leadgate."""
    adapter = SOURCES["hubspot"]
    settings = adapter.load_settings({"client_secret": HUBSPOT_SECRET,
                                       "public_url": HUBSPOT_URL})
    body, now = json.dumps(HUBSPOT).encode(), time.time()
    stamp = str(int(now * 1000))
    ours = adapter.sign(settings, body, stamp=stamp)
    assert Signature.is_valid(ours["X-HubSpot-Signature-v3"], HUBSPOT_SECRET, body.decode(),
                              http_uri=HUBSPOT_URL, signature_version="v3", timestamp=stamp)
    theirs = hubspot_sign(body, stamp)
    adapter.authenticate(Inbound("POST", theirs, {}, body, "application/json", now=now),
                         settings)


@pytest.mark.parametrize("skew_s", [-301, 301])
def test_hubspot_timestamp_outside_the_window_is_401(provider_app: tuple[Any, Any],
                                                     redis_client: redis.Redis,
                                                     skew_s: int) -> None:
    client, _ = provider_app
    body = json.dumps(HUBSPOT).encode()
    headers = {**JSON, **hubspot_sign(body, str((NOW + skew_s) * 1000))}
    response = client.post("/hooks/acme-hubspot", data=body, headers=headers)
    assert response.status_code == 401 and "tolerance" in response.get_json()["error"]["message"]
    assert stored_keys(redis_client) == []


def test_hubspot_signature_covers_the_public_url(provider_app: tuple[Any, Any]) -> None:
    client, _ = provider_app
    body = json.dumps(HUBSPOT).encode()
    moved = hubspot_sign(body, url="https://proxy.internal/hooks/acme-hubspot")
    assert client.post("/hooks/acme-hubspot", data=body, headers={**JSON, **moved}
                       ).status_code == 401


def hubspot_workflow(vid: int) -> dict[str, Any]:
    """A contact workflow's "Send a webhook" body with every property."""
    props = {"firstname": "Ana", "lastname": "Rivera", "email": "ana@example.com",
             "phone": "+14155550123", "message": "$5k-$10k", "hs_object_id": str(vid)}
    return {"vid": vid, "canonical-vid": vid, "portal-id": 62515, "is-contact": True,
            "properties": {k: {"value": v, "versions": [{"value": v, "source-type": "FORM"}]}
                           for k, v in props.items()}}


def test_hubspot_workflow_webhook_carries_the_contact_and_is_one_lead_with_its_creation(
        provider_app: tuple[Any, Any], megasim: Sim) -> None:
    client, drain = provider_app
    body = json.dumps(hubspot_workflow(HUBSPOT[0]["objectId"])).encode()
    workflow = client.post("/hooks/acme-hubspot", data=body,
                           headers={**JSON, **hubspot_sign(body)})
    created = json.dumps(HUBSPOT).encode()
    creation = client.post("/hooks/acme-hubspot", data=created,
                           headers={**JSON, **hubspot_sign(created)})
    assert (workflow.get_json()["accepted"], creation.get_json()["duplicates"]) == (1, 1)
    drain()
    (lead,) = megasim.leads(ACME_ID)
    assert (lead["contact_name"], lead["contact_phone"], lead["source_platform"]) == (
        "Ana Rivera", "+14155550123", "hubspot")
    assert megasim.hubspot()["requests"] == 0           # the workflow carried the contact


def test_hubspot_revoked_token_holds_the_route_until_it_works(
        provider_app: tuple[Any, Any], megasim: Sim) -> None:
    client, drain = provider_app
    megasim.hubspot(tokens=["another-private-app-token"])
    body = json.dumps(HUBSPOT).encode()
    (event_id,) = client.post("/hooks/acme-hubspot", data=body,
                              headers={**JSON, **hubspot_sign(body)}).get_json()["events"]
    drain.step()
    summary = client.get("/v1/customers/acme", headers=ADMIN).get_json()
    assert summary["state"] == "blocked" and "hubspot token invalid" in summary["reason"]
    assert summary["held"] == 1 and megasim.leads(ACME_ID) == []
    assert client.get("/v1/dead-letters", headers=ADMIN).get_json()["total"] == 0
    megasim.hubspot(tokens=["pat-na1-test-0000-hubspot-private-app"])
    drain(skip_waits=True)
    assert [lead["contact_email"] for lead in megasim.leads(ACME_ID)] == ["ana@example.com"]
    assert client.get(f"/v1/events/{event_id}", headers=ADMIN).get_json()["status"] == \
        "delivered"


def test_hubspot_deleted_contact_is_a_dead_letter(provider_app: tuple[Any, Any],
                                                  megasim: Sim) -> None:
    client, drain = provider_app
    megasim.hubspot(deleted=["9000001"])
    events = [{**HUBSPOT[0], "objectId": 9000001, "eventId": 1},
              {**HUBSPOT[0], "objectId": 9000002, "eventId": 2}]
    body = json.dumps(events).encode()
    gone_id, kept_id = client.post("/hooks/acme-hubspot", data=body,
                                   headers={**JSON, **hubspot_sign(body)}).get_json()["events"]
    drain()
    gone = client.get(f"/v1/events/{gone_id}", headers=ADMIN).get_json()
    assert (gone["status"], gone["dead_reason"]) == ("dead", "lead_unavailable")
    assert client.get(f"/v1/events/{kept_id}", headers=ADMIN).get_json()["status"] == \
        "delivered"
    assert [lead["contact_email"] for lead in megasim.leads(ACME_ID)] == [
        "hubspot+9000002@example.com"]


def crm_answering(status: int, body: bytes, headers: dict[str, str] | None = None
                  ) -> HubSpotClient:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == f"Bearer {TOKEN}"
        assert TOKEN not in str(request.url)            # the token never in a URL
        return httpx.Response(status, content=body, headers=headers or {})
    return HubSpotClient(timeout_s=1, transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(("status", "kind", "route_wide"), [
    (401, "token_invalid", True), (403, "permission_missing", True),
    (429, "throttled", False), (502, "unavailable", False)])
def test_hubspot_crm_errors(status: int, kind: str, route_wide: bool) -> None:
    client = crm_answering(status, b'{"status":"error","message":"m"}', {"Retry-After": "2"})
    with pytest.raises(HubSpotError) as info:
        client.fetch("http://crm.test", TOKEN, ["1"])
    assert (info.value.kind, info.value.route_wide) == (kind, route_wide)


def test_hubspot_crm_answer_is_bounded_in_decoded_bytes() -> None:
    from gateway import defaults

    client = crm_answering(200, b'{"id":"1","p":"' + b"x" * defaults.MAX_ANSWER_BYTES + b'"}')
    with pytest.raises(HubSpotError) as info:
        client.fetch("http://crm.test", TOKEN, ["1"])
    assert info.value.kind == "unavailable" and "larger than" in str(info.value)
