"""Provider adapters: realistic signed deliveries become the right MEGA lead, exactly once."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis

from gateway.sources.base import Inbound
from gateway.sources.standard_webhooks import StandardWebhooks
from tests.conftest import ACME_ID, URL_TOKEN, Sim, stored_keys
from tests.samples import (
    CHAT,
    NOW,
    PLATFORMS,
    SAMPLES,
    SIGNERS,
    STANDARD,
    WHSEC,
    hook,
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
    assert stored_keys(redis_client) == []
