"""Twilio: an inbound SMS and a finished inbound call's status callback, signed as Twilio's own
RequestValidator signs them, become the right MEGA row, once; an SMS is answered with TwiML."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
import redis
from twilio.request_validator import RequestValidator

from tests.conftest import ACME_ID, Sim, stored_keys
from tests.samples import TWILIO_CALL, TWILIO_SMS, TWILIO_TOKEN

HOOK = "/hooks/acme-twilio"
LOCAL = "http://localhost" + HOOK          # the URL the test client posts to
EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def post(client: Any, params: dict[str, str], *, url: str = LOCAL, token: str = TWILIO_TOKEN,
         body: bytes | None = None, **extra: Any) -> Any:
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(HOOK, data=urlencode(params).encode() if body is None else body,
                       headers={"Content-Type": "application/x-www-form-urlencoded",
                                "X-Twilio-Signature": signature}, **extra)


def test_inbound_sms_is_one_sms_lead_answered_with_empty_twiml(calls_app: Any,
                                                               megasim: Sim) -> None:
    client, drain = calls_app()
    first, resent = post(client, TWILIO_SMS), post(client, TWILIO_SMS)
    for answer in (first, resent):
        assert (answer.status_code, answer.get_data()) == (200, EMPTY_TWIML)
        assert answer.mimetype == "text/xml"
    drain()
    (lead,) = megasim.leads(ACME_ID)
    assert (lead["contact_phone"], lead["source_type"], lead["source_platform"]) == (
        "+14155550123", "sms", "direct")
    assert lead["custom_fields"] == {"message": "Is the flat on 5th still available?"}


def test_completed_call_status_callback_is_one_phone_call_lead(calls_app: Any,
                                                               megasim: Sim) -> None:
    client, drain = calls_app()
    ringing = post(client, {**TWILIO_CALL, "CallStatus": "ringing", "CallDuration": ""})
    done, resent = post(client, TWILIO_CALL), post(client, TWILIO_CALL)
    assert [a.status_code for a in (ringing, done, resent)] == [200, 200, 200]
    drain()
    (lead,) = megasim.leads(ACME_ID)
    assert (lead["contact_name"], lead["contact_phone"]) == ("Ana Rivera", "+14155550123")
    assert (lead["source_type"], lead["source_platform"]) == ("phone_call", "direct")
    assert lead["custom_fields"] == {"duration_s": "143"}


def test_the_voice_url_request_is_refused_and_outbound_calls_ignored(
        calls_app: Any, redis_client: redis.Redis) -> None:
    client, _ = calls_app()
    voice = {k: v for k, v in TWILIO_CALL.items()
             if k not in ("CallbackSource", "CallDuration", "Duration", "SequenceNumber")}
    refused = post(client, {**voice, "CallStatus": "ringing"})
    assert refused.status_code == 400 and "status callback" in refused.get_json()["error"][
        "message"]
    outbound = post(client, {**TWILIO_CALL, "Direction": "outbound-dial"})
    assert outbound.status_code == 200 and outbound.get_data() == EMPTY_TWIML
    assert stored_keys(redis_client) == []


def test_tampered_body_wrong_token_and_wrong_url_are_401(calls_app: Any,
                                                         redis_client: redis.Redis) -> None:
    client, _ = calls_app()
    tampered = post(client, TWILIO_SMS, body=urlencode({**TWILIO_SMS, "From": "+14155550999"}
                                                       ).encode())
    wrong_token = post(client, TWILIO_SMS, token="0" * 32)
    wrong_url = post(client, TWILIO_SMS, url="http://localhost/hooks/another-route")
    assert [r.status_code for r in (tampered, wrong_token, wrong_url)] == [401, 401, 401]
    json_body = client.post(HOOK, json=TWILIO_SMS, headers={"X-Twilio-Signature": "x"})
    assert json_body.status_code == 415
    assert stored_keys(redis_client) == []


def test_behind_a_proxy_the_public_url_is_the_one_signed(calls_app: Any) -> None:
    public = "https://leads.example.com/hooks/acme-twilio"
    client, _ = calls_app(acme_twilio={"public_url": public})
    assert post(client, TWILIO_SMS, url=LOCAL).status_code == 401
    assert post(client, TWILIO_SMS, url=public).status_code == 200
    # Twilio's validator also accepts the URL with its default port
    other = {**TWILIO_SMS, "MessageSid": "SM2", "SmsMessageSid": "SM2", "SmsSid": "SM2"}
    assert post(client, other, url="https://leads.example.com:443/hooks/acme-twilio"
                ).status_code == 200


@pytest.mark.parametrize(("duration", "kept"), [("4", False), ("5", True), ("", True)])
def test_min_duration_s_skips_short_calls(calls_app: Any, redis_client: redis.Redis,
                                          duration: str, kept: bool) -> None:
    client, _ = calls_app(acme_twilio={"min_duration_s": 5})
    answer = post(client, {**TWILIO_CALL, "CallDuration": duration})
    assert answer.status_code == 200 and answer.get_data() == EMPTY_TWIML
    assert bool(stored_keys(redis_client)) is kept


def test_behind_a_trusted_proxy_the_https_url_is_rebuilt(calls_app: Any,
                                                         config_dict: dict[str, Any]) -> None:
    config_dict["server"]["trusted_proxies"] = 1        # Heroku's router
    client, _ = calls_app()
    public = "https://leads.example.com/hooks/acme-twilio"
    answer = post(client, TWILIO_SMS, url=public, base_url="http://leads.example.com",
                  environ_overrides={"HTTP_X_FORWARDED_PROTO": "https"})
    assert answer.status_code == 200
