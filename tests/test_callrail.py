"""CallRail: signed post-call, text and form webhooks become the right MEGA row, once."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import redis

from gateway.domain.sources.providers.messages.callrail import CallRail, CallRailSettings, platform
from gateway.web.context import app_context
from tests.conftest import ACME_ID, Sim, stored_keys
from tests.samples import CALLRAIL_CALL, CALLRAIL_FORM, CALLRAIL_SECRET, CALLRAIL_TEXT

HOOK = "/hooks/acme-callrail"
ADMIN = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}


def post(client: Any, payload: dict[str, Any], *, secret: str = CALLRAIL_SECRET,
         body: bytes | None = None) -> Any:
    raw = json.dumps(payload).encode()
    signature = CallRail().sign(CallRailSettings(secret=secret), raw)
    return client.post(HOOK, data=raw if body is None else body,
                       headers={"Content-Type": "application/json", **signature})


def webhooks(client: Any, outcome: str) -> float:
    """leadgate_webhooks_total of the route for an outcome, from /metrics."""
    app_context(client.application).store.metrics.flush()
    text = client.get("/metrics", headers=ADMIN).get_data(as_text=True)
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith("leadgate_webhooks_total{") and 'route="acme-callrail"' in line
               and f'outcome="{outcome}"' in line)


def test_google_ads_post_call_is_one_phone_call_lead_with_its_gclid(calls_app: Any,
                                                                    megasim: Sim) -> None:
    client, drain = calls_app()
    first = post(client, CALLRAIL_CALL)
    resent = post(client, CALLRAIL_CALL)
    modified = post(client, {**CALLRAIL_CALL, "note": "wants a quote", "tags": ["hot"]})
    assert (first.status_code, resent.status_code, modified.status_code) == (202, 200, 200)
    assert first.get_json() == {"accepted": 1, "duplicates": 0,
                                "events": first.get_json()["events"]}
    assert resent.get_json()["duplicates"] == modified.get_json()["duplicates"] == 1
    drain()
    (lead,) = megasim.leads(ACME_ID)
    assert (lead["contact_name"], lead["contact_phone"]) == ("Ana Rivera", "+14155550123")
    assert (lead["source_type"], lead["source_platform"]) == ("phone_call", "google_ads")
    assert lead["custom_fields"] == {
        "gclid": "Cj0KCQjw-callrail-gclid", "tracking_number": "+14045558514",
        "duration_s": "143", "answered": True, "keywords": "emergency plumber",
        "recording_url": CALLRAIL_CALL["recording"],
        "landing_page": "https://acme.example/plumbing"}


def test_text_and_form_webhooks_are_sms_and_form_leads(calls_app: Any, megasim: Sim) -> None:
    client, drain = calls_app()
    form = {**CALLRAIL_FORM, "form_data": {**CALLRAIL_FORM["form_data"], "your_name": "Ben Okafor",
                                           "email": "ben@example.com", "phone": "415-555-0199"}}
    assert post(client, CALLRAIL_TEXT).get_json()["accepted"] == 1
    assert post(client, form).get_json()["accepted"] == 1
    drain()
    leads = {lead["source_type"]: lead for lead in megasim.leads(ACME_ID)}
    text, submitted = leads["sms"], leads["form"]
    assert (text["contact_name"], text["contact_phone"], text["source_platform"]) == (
        "Ana Rivera", "+14155550123", "google_organic")
    assert text["custom_fields"] == {"message": "Are you open Sunday?"}
    assert (submitted["contact_name"], submitted["contact_email"], submitted["contact_phone"],
            submitted["source_platform"]) == ("Ben Okafor", "ben@example.com", "+14155550199",
                                              "meta_ads")
    assert submitted["custom_fields"] == {"budget": "$5k-$10k",
                                          "landing_page": "https://acme.example/"}


@pytest.mark.parametrize(("attribution", "expected"), [
    ({"source": "Google Ads", "gclid": ""}, "google_ads"),
    ({"source": "Google Paid"}, "google_ads"),
    ({"source": "Direct", "gclid": "Cj0-abc"}, "google_ads"),
    ({"formatted_tracking_source": "Google Paid", "callsource": "google_paid"}, "google_ads"),
    ({"source": "Google Organic"}, "google_organic"),
    ({"source": "Google My Business"}, "google_organic"),
    ({"source": "Facebook Ads"}, "meta_ads"),
    ({"source": "Instagram", "medium": "CPC"}, "meta_ads"),
    ({"source": "Facebook Organic", "fbclid": "IwAR0"}, "referral"),
    ({"source": "Direct"}, "direct"),
    ({}, "direct"),
    ({"source": "Yelp"}, "referral"),
    ({"source": "Bing Organic"}, "referral"),
])
def test_platform_from_callrail_attribution(attribution: dict[str, str], expected: str) -> None:
    assert platform(attribution) == expected


def test_callrail_published_signature_vector() -> None:
    """The body, signing token and signature CallRail's API documentation publishes."""
    body = (Path(__file__).parent / "data" / "callrail-docs-vector.json").read_bytes()
    settings = CallRail().load_settings({"secret": "072e77e426f92738a72fe23c4d1953b4"})
    assert CallRail().sign(settings, body) == {"Signature": "UZAHbUdfm3GqL7qzilGozGzWV64="}


def test_tampered_body_and_wrong_token_are_401_and_store_nothing(
        calls_app: Any, redis_client: redis.Redis) -> None:
    client, _ = calls_app()
    raw = json.dumps(CALLRAIL_CALL).encode()
    tampered = post(client, CALLRAIL_CALL, body=raw.replace(b"Ana", b"Eve"))
    wrong = post(client, CALLRAIL_CALL, secret="not-the-company-token")
    unsigned = client.post(HOOK, data=raw, headers={"Content-Type": "application/json"})
    assert [r.status_code for r in (tampered, wrong, unsigned)] == [401, 401, 401]
    assert stored_keys(redis_client) == []


def test_route_filters_are_counted_as_ignored(calls_app: Any, redis_client: redis.Redis,
                                              megasim: Sim) -> None:
    client, drain = calls_app(acme_callrail={"min_duration_s": 20, "first_contact_only": True})
    short = post(client, {**CALLRAIL_CALL, "resource_id": "CAL1", "duration": "7"})
    repeat = post(client, {**CALLRAIL_CALL, "resource_id": "CAL2", "first_call": False})
    old_form = post(client, {**CALLRAIL_FORM, "first_form": False})
    for answer in (short, repeat, old_form):
        assert answer.status_code == 200 and answer.get_json()["accepted"] == 0
    assert "min_duration_s" in short.get_json()["ignored"]
    assert "first_contact_only" in repeat.get_json()["ignored"]
    assert stored_keys(redis_client) == []
    assert webhooks(client, "ignored") == 3
    assert post(client, CALLRAIL_CALL).get_json()["accepted"] == 1     # long, first: kept
    drain()
    assert len(megasim.leads(ACME_ID)) == 1


def test_outbound_calls_and_unknown_webhooks_are_ignored(calls_app: Any,
                                                         redis_client: redis.Redis) -> None:
    client, _ = calls_app()
    outbound = post(client, {**CALLRAIL_CALL, "direction": "outbound"})
    other = post(client, {"resource_id": "TRK1", "name": "a tracker"})
    assert outbound.get_json()["ignored"] and other.get_json()["ignored"]
    assert stored_keys(redis_client) == []


def test_a_route_without_a_signing_token_is_refused(config_dict: dict[str, Any]) -> None:
    from gateway.config import config_from_dict
    from gateway.errors import ConfigError

    config_dict["routes"]["cr"] = {"customer": "acme", "source": "callrail"}
    with pytest.raises(ConfigError, match=r"routes\.cr\.secret"):
        config_from_dict(config_dict)
