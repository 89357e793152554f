"""Mailgun: an email a route forwards, signed in its body, becomes one `email` lead with its
sender as the contact; a replay or a retry is a duplicate; auto-replies and bounces are not
leads."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
import redis

from gateway.domain.sources.providers.messages.mailgun import signed_fields
from tests.conftest import ACME_ID, Sim, stored_keys
from tests.samples import MAILGUN_EMAIL, MAILGUN_HEADERS, MAILGUN_KEY, NOW, multipart

HOOK = "/hooks/acme-mailgun"
FORM = "application/x-www-form-urlencoded"


def fields(email: dict[str, str], *, key: str = MAILGUN_KEY, stamp: int = NOW,
           token: str = "a" * 50) -> dict[str, str]:
    return {**email, **signed_fields(key, str(stamp), token)}


def post(client: Any, params: dict[str, str]) -> Any:
    return client.post(HOOK, data=urlencode(params).encode(), headers={"Content-Type": FORM})


def test_email_is_one_email_lead_with_its_sender_and_replays_are_duplicates(
        calls_app: Any, megasim: Sim) -> None:
    client, drain = calls_app()
    first = post(client, fields(MAILGUN_EMAIL))
    replay = post(client, fields(MAILGUN_EMAIL))
    retry = post(client, fields(MAILGUN_EMAIL, stamp=NOW + 60, token="b" * 50))
    assert [a.status_code for a in (first, replay, retry)] == [200, 200, 200]
    assert first.get_json()["accepted"] == 1
    assert replay.get_json()["duplicates"] == retry.get_json()["duplicates"] == 1
    drain()
    (lead,) = megasim.leads(ACME_ID)
    assert (lead["contact_name"], lead["contact_email"]) == ("Ana Rivera", "ana@example.com")
    assert (lead["source_type"], lead["source_platform"]) == ("email", "direct")
    assert lead["custom_fields"] == {"subject": "Kitchen remodel quote",
                                     "message": "Hello,\n\nCould you quote a kitchen remodel?"}


def test_multipart_email_with_an_attachment(calls_app: Any, megasim: Sim) -> None:
    client, drain = calls_app()
    body = multipart(fields(MAILGUN_EMAIL)).replace(
        b"--J1JNT4vbVO4FCC1qLG4HSv--", b'--J1JNT4vbVO4FCC1qLG4HSv\r\nContent-Disposition: '
        b'form-data; name="attachment-1"; filename="plan.pdf"\r\nContent-Type: '
        b'application/pdf\r\n\r\n%PDF-1.4\r\n--J1JNT4vbVO4FCC1qLG4HSv--')
    answer = client.post(HOOK, data=body, headers={
        "Content-Type": "multipart/form-data; boundary=J1JNT4vbVO4FCC1qLG4HSv"})
    assert answer.status_code == 200 and answer.get_json()["accepted"] == 1
    drain()
    assert [lead["contact_email"] for lead in megasim.leads(ACME_ID)] == ["ana@example.com"]


@pytest.mark.parametrize("change", [
    {"key": "not-the-signing-key"},
    {"stamp": NOW - 301},
    {"stamp": NOW + 301},
])
def test_wrong_key_and_stale_timestamp_are_401(calls_app: Any, redis_client: redis.Redis,
                                               change: dict[str, Any]) -> None:
    client, _ = calls_app()
    answer = post(client, fields(MAILGUN_EMAIL, **change))
    assert answer.status_code == 401
    unsigned = post(client, MAILGUN_EMAIL)
    assert unsigned.status_code == 401
    assert stored_keys(redis_client) == []


def headers_with(*extra: list[str]) -> str:
    """The sample's headers, with these added (or, by name, put in place of its own)."""
    names = {name for name, _ in extra}
    return json.dumps([*(h for h in MAILGUN_HEADERS if h[0] not in names), *extra])


@pytest.mark.parametrize("change", [
    {"message-headers": headers_with(["Auto-Submitted", "auto-replied"])},
    {"message-headers": headers_with(["X-Autoreply", "yes"])},
    {"message-headers": headers_with(["Precedence", "auto_reply"])},
    {"message-headers": headers_with(["Content-Type", "multipart/report; "
                                      "report-type=delivery-status; boundary=x"])},
    {"sender": "", "from": "Mail Delivery System <MAILER-DAEMON@mx.example.com>"},
    {"from": "postmaster@example.net", "sender": "postmaster@example.net"},
])
def test_auto_replies_and_bounces_are_ignored(calls_app: Any, redis_client: redis.Redis,
                                              change: dict[str, str]) -> None:
    client, _ = calls_app()
    answer = post(client, fields({**MAILGUN_EMAIL, **change}))
    assert answer.status_code == 200 and answer.get_json()["ignored"]
    assert stored_keys(redis_client) == []


def test_a_person_writing_auto_submitted_no_is_a_lead(calls_app: Any) -> None:
    client, _ = calls_app()
    email = {**MAILGUN_EMAIL, "message-headers": headers_with(["Auto-Submitted", "no"])}
    assert post(client, fields(email)).get_json()["accepted"] == 1


def test_the_email_text_a_lead_keeps_is_bounded(calls_app: Any, megasim: Sim) -> None:
    client, drain = calls_app()
    long_text = "x" * 50_000
    post(client, fields({**MAILGUN_EMAIL, "stripped-text": long_text}))
    drain()
    (lead,) = megasim.leads(ACME_ID)
    assert lead["custom_fields"]["message"] == "x" * 4000
