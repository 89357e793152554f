"""Provider adapters: realistic signed deliveries become the right MEGA lead, exactly once."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

from gateway.domain.sources.base import Inbound
from gateway.domain.sources.providers.standard_webhooks import StandardWebhooks
from tests.conftest import ACME_ID, URL_TOKEN, Sim, stored_keys
from tests.samples import (
    CHAT,
    NOW,
    PLATFORMS,
    SAMPLES,
    STANDARD,
    WHSEC,
    hook,
    sign,
    signed,
    standard_headers,
)


@pytest.mark.parametrize("source", sorted(SAMPLES))
def test_signed_delivery_becomes_one_mega_lead_across_retries(
        provider_app: tuple[Any, Any], megasim: Sim, source: str) -> None:
    client, drain = provider_app
    body, headers = signed(source)
    statuses = [client.post(hook(source), data=body, headers=headers).status_code
                for _ in range(3)]
    drain()
    assert statuses[0] in (200, 202) and statuses[1:] == [200, 200]
    (lead,) = megasim.leads(ACME_ID)
    assert (lead["contact_name"], lead["contact_email"], lead["contact_phone"]) == (
        "Ana Rivera", "ana@example.com", "+14155550123")
    assert lead["custom_fields"]["budget"] == "$5k-$10k"
    assert lead["source_type"] == ("chat" if source in CHAT else "form")
    assert lead.get("source_platform") == PLATFORMS.get(source)


def bad_credentials(source: str) -> tuple[str, bytes, dict[str, str]]:
    """The delivery with its credential wrong: tampered body, wrong key or wrong URL token."""
    if source in ("google_lead_forms", "livechat"):
        key = "google_key" if source == "google_lead_forms" else "secret_key"
        body, headers = signed(source, {**SAMPLES[source], key: "not-the-secret"})
        return hook(source), body, headers
    if source in ("unbounce", "jotform"):
        body, headers = signed(source)
        return f"/hooks/acme-{source}/{'x' * len(URL_TOKEN)}", body, headers
    body, headers = signed(source)
    return hook(source), body.replace(b"Ana", b"Eve").replace(b"1234567890123456",
                                                               b"1234567890123457"), headers


@pytest.mark.parametrize("source", sorted(SAMPLES))
def test_bad_signature_is_401_and_stores_nothing(provider_app: tuple[Any, Any],
                                                 redis_client: redis.Redis,
                                                 source: str) -> None:
    client, _ = provider_app
    path, body, headers = bad_credentials(source)
    response = client.post(path, data=body, headers=headers)
    assert response.status_code == 401
    assert stored_keys(redis_client) == []


def test_standard_webhooks_spec_test_vector() -> None:
    """The known-answer vector the Standard Webhooks library publishes (the only provider here
    that publishes one): signed by the source's signer and accepted by its verification."""
    body = b'{"test": 2432232314}'
    settings = StandardWebhooks().load_settings({"secret": WHSEC, "tolerance_s": 300})
    headers = StandardWebhooks().sign(settings, body, stamp="1614265330",
                                      msg_id="msg_p5jXN8AQM9LWM0D4loKWxJek")
    assert headers["webhook-signature"] == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    inbound = Inbound("POST", headers, {}, body, "application/json", now=1614265330)
    StandardWebhooks().authenticate(inbound, settings)


PINNED_BODY = b'{"event_id":"01HZX3V5N6S7","email":"ana@example.com"}'


# Each scheme as its provider documents it (prefix, encoding, what is signed), computed once
# with hmac outside leadgate: the signers cannot drift from the documented schemes unnoticed.
@pytest.mark.parametrize(("source", "header", "expected"), [
    ("meta_lead_ads", "X-Hub-Signature-256",
     "sha256=448a6b3041ef9b10a69f5e1f529b01bee816859927413e43ae2a428c2711a2a7"),
    ("typeform", "Typeform-Signature", "sha256=gy42DXMro1uj93079py/1AQs0eiHeB30gjpz2Wq4ook="),
    ("tally", "Tally-Signature", "gy42DXMro1uj93079py/1AQs0eiHeB30gjpz2Wq4ook="),
    ("intercom", "X-Hub-Signature", "sha1=f3a058448a04f6626db4de014e87d982008508c4"),
    ("webflow", "x-webflow-signature",
     "9558b362cfccc9ef462953b600a587241c6b75d54723fe94a63e0bd72a640ed1"),
])
def test_each_signer_matches_its_documented_scheme(source: str, header: str,
                                                   expected: str) -> None:
    assert sign(source, PINNED_BODY)[header] == expected


def test_generic_signer_and_unsigned_sources() -> None:
    from gateway.domain.sources import SOURCES

    settings = SOURCES["generic"].load_settings(
        {"hmac_secret": "test-hmac-secret"})
    assert SOURCES["generic"].sign(settings, PINNED_BODY) == {"X-Signature": (
        "sha256=c1adf80e2b156fae4a4d66207cdad21b6aa0f91aa2bf669971ccf58e1e21359a")}
    assert all(sign(source, PINNED_BODY) == {} for source in
               ("google_lead_forms", "livechat", "unbounce", "jotform"))


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
                           headers={"Content-Type": "application/json", **sign(source, body)})
    assert response.status_code == 200 and response.get_json()["ignored"]
    assert stored_keys(redis_client) == []


def test_existing_sources_answer_byte_for_byte_as_before(provider_app: tuple[Any, Any]) -> None:
    """The source-owned answer keeps the JSON every source sent before it owned it."""
    client, _ = provider_app
    body, headers = signed("typeform")
    first = client.post(hook("typeform"), data=body, headers=headers)
    again = client.post(hook("typeform"), data=body, headers=headers)
    (event,) = first.get_json()["events"]
    assert (first.status_code, first.content_type, first.get_data()) == (
        202, "application/json", b'{"accepted":1,"duplicates":0,"events":["%s"]}' % event.encode())
    assert (again.status_code, again.get_data()) == (
        200, b'{"accepted":0,"duplicates":1,"events":["%s"]}' % event.encode())
    partial = json.dumps({**SAMPLES["typeform"], "event_type": "form_response_partial"}).encode()
    ignored = client.post(hook("typeform"), data=partial, headers={
        "Content-Type": "application/json", **sign("typeform", partial)})
    assert (ignored.status_code, ignored.content_type, ignored.get_data()) == (
        200, "application/json", b'{"accepted":0,"duplicates":0,"events":[],'
                                 b'"ignored":"partial response (accept_partial is off)"}\n')
