"""Provider adapters: realistic signed deliveries become the right MEGA lead, exactly once."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import pytest
import redis

from gateway.app import create_app
from gateway.sources.base import Inbound
from gateway.sources.standard_webhooks import StandardWebhooks
from tests.conftest import ACME_ID, Sim, build

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRET = "provider-secret-1"
NOW = 1_777_636_800

TYPEFORM = {"event_id": "01HZX3V5N6S7T8U9V0W1X2Y3Z4", "event_type": "form_response",
            "form_response": {
                "form_id": "lT4Z3j", "token": "a3a12ec67a1365927098a606107fac15",
                "hidden": {"utm_source": "newsletter"},
                "definition": {"id": "lT4Z3j", "fields": [
                    {"id": "JwW", "title": "What is your name?", "type": "short_text"}]},
                "answers": [
                    {"type": "text", "text": "Ana Rivera", "field": {"id": "JwW"}},
                    {"type": "email", "email": "ana@example.com",
                     "field": {"id": "SME", "ref": "contact"}},
                    {"type": "phone_number", "phone_number": "+14155550123",
                     "field": {"id": "k6T", "ref": "mobile_or_landline"}},
                    {"type": "choice", "choice": {"label": "$5k-$10k"},
                     "field": {"id": "PNe", "ref": "budget"}},
                    {"type": "choices", "choices": {"labels": ["Condo", "House"]},
                     "field": {"id": "Qx1", "ref": "kinds"}}]}}
TALLY = {"eventId": "a4cb511e-d513-4fa5-baee-b815d718dfd1", "eventType": "FORM_RESPONSE",
         "data": {"responseId": "2wgx4n", "fields": [
             {"key": "question_3EKz4n", "label": "Name", "type": "INPUT_TEXT",
              "value": "Ana Rivera"},
             {"key": "question_w4Q4Xn", "label": "Where can we write?", "type": "INPUT_EMAIL",
              "value": "ana@example.com"},
             {"key": "question_mVaMPp", "label": "Best number", "type": "INPUT_PHONE_NUMBER",
              "value": "+14155550123"},
             {"key": "question_nPpWdm", "label": "Budget", "type": "MULTIPLE_CHOICE",
              "value": ["5f3c"], "options": [{"id": "5f3c", "text": "$5k-$10k"},
                                             {"id": "9a1b", "text": "$10k+"}]}]}}
STANDARD = {"type": "lead.created", "timestamp": "2026-05-01T12:00:00Z",
            "data": {"id": "L-1", "name": "Ana Rivera", "email": "ana@example.com",
                     "phone": "+14155550123", "budget": "$5k-$10k"}}


def b64mac(key: bytes, message: bytes) -> str:
    return base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def standard_headers(body: bytes, msg_id: str = "msg_1", ts: int = NOW) -> dict[str, str]:
    key = base64.b64decode(WHSEC.removeprefix("whsec_") + "==")
    sig = b64mac(key, f"{msg_id}.{ts}.".encode() + body)
    return {"webhook-id": msg_id, "webhook-timestamp": str(ts),
            "webhook-signature": f"v1,{'A' * 44} v1,{sig}", "Content-Type": "application/json"}


SIGNERS = {
    "typeform": lambda b: {"Typeform-Signature": "sha256=" + b64mac(SECRET.encode(), b)},
    "tally": lambda b: {"Tally-Signature": b64mac(SECRET.encode(), b)},
    "standard_webhooks": standard_headers,
}
SAMPLES = {"typeform": TYPEFORM, "tally": TALLY, "standard_webhooks": STANDARD}
SETTINGS = {"typeform": {"secret": SECRET}, "tally": {"secret": SECRET},
            "standard_webhooks": {"secret": WHSEC}}
FIELD_MAPS = {"typeform": {"budget": "custom_fields.budget",
                           "hidden.utm_source": "custom_fields.utm_source"},
              "tally": {"Budget": "custom_fields.budget"},
              "standard_webhooks": {"data.budget": "custom_fields.budget"}}


@pytest.fixture
def provider_app(config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
                 drain_factory: Any) -> tuple[Any, Any]:
    for source in SAMPLES:
        config_dict["routes"][f"acme-{source}"] = {
            "customer": "acme", "source": source, **SETTINGS[source],
            "fields": FIELD_MAPS[source]}
    config = build(config_dict, redis_server.url)
    return create_app(config, clock=lambda: NOW).test_client(), drain_factory(config)


@pytest.mark.parametrize("source", sorted(SAMPLES))
def test_signed_delivery_becomes_one_mega_lead_across_retries(
        provider_app: tuple[Any, Any], megasim: Sim, source: str) -> None:
    client, drain = provider_app
    body = json.dumps(SAMPLES[source]).encode()
    headers = {"Content-Type": "application/json", **SIGNERS[source](body)}
    statuses = [client.post(f"/hooks/acme-{source}", data=body, headers=headers).status_code
                for _ in range(3)]
    drain()
    assert statuses == [202, 200, 200]
    (lead,) = megasim.leads(ACME_ID)
    assert (lead["contact_name"], lead["contact_email"], lead["contact_phone"]) == (
        "Ana Rivera", "ana@example.com", "+14155550123")
    assert lead["custom_fields"]["budget"] == "$5k-$10k"
    assert lead["source_type"] == "form"


@pytest.mark.parametrize("source", sorted(SAMPLES))
def test_bad_signature_is_401_and_stores_nothing(provider_app: tuple[Any, Any],
                                                 redis_client: redis.Redis,
                                                 source: str) -> None:
    client, _ = provider_app
    body = json.dumps(SAMPLES[source]).encode()
    headers = SIGNERS[source](body)
    tampered = body.replace(b"Ana", b"Eve")
    response = client.post(f"/hooks/acme-{source}", data=tampered,
                           headers={"Content-Type": "application/json", **headers})
    assert response.status_code == 401
    assert list(redis_client.scan_iter("leadgate:*")) == []


def test_standard_webhooks_spec_test_vector() -> None:
    body = b'{"test": 2432232314}'
    headers = {"webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek", "webhook-timestamp": "1614265330",
               "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="}
    inbound = Inbound("POST", headers, {}, body, "application/json", now=1614265330)
    StandardWebhooks().authenticate(inbound, {"secret": WHSEC, "tolerance_s": 300})


@pytest.mark.parametrize("skew", [-301, 301])
def test_standard_webhooks_timestamp_outside_the_window(provider_app: tuple[Any, Any],
                                                        skew: int) -> None:
    client, _ = provider_app
    body = json.dumps(STANDARD).encode()
    response = client.post("/hooks/acme-standard_webhooks", data=body,
                           headers=standard_headers(body, ts=NOW + skew))
    assert response.status_code == 401 and "tolerance" in response.get_json()["error"]["message"]


@pytest.mark.parametrize(("source", "change"), [
    ("typeform", {"event_type": "form_response_partial"}),
    ("tally", {"eventType": "FORM_DELETED"}),
])
def test_non_lead_events_are_acknowledged_and_ignored(provider_app: tuple[Any, Any],
                                                      redis_client: redis.Redis, source: str,
                                                      change: dict[str, str]) -> None:
    client, _ = provider_app
    body = json.dumps({**SAMPLES[source], **change}).encode()
    response = client.post(f"/hooks/acme-{source}", data=body,
                           headers={"Content-Type": "application/json", **SIGNERS[source](body)})
    assert response.status_code == 200 and response.get_json()["ignored"]
    assert list(redis_client.scan_iter("leadgate:*")) == []
