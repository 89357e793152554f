"""`mailgun`: inbound email a Mailgun route forwards (`forward("https://…")`), signed in the
body: `signature` = hex HMAC-SHA256 of `timestamp` + `token`, keyed by the webhook signing key.

The signature does not cover the email, so the timestamp has a window and the email's own
Message-Id is the event id: a replay or a retry within the window is a duplicate.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlencode

from marshmallow import fields, validate

from gateway import defaults
from gateway.domain.sources.base import (
    Draft,
    Inbound,
    Sample,
    Source,
    sample_contact,
)
from gateway.domain.sources.settings import (
    RouteSchema,
    RouteSettings,
)
from gateway.domain.sources.signatures import (
    check_timestamp,
    digest,
    matches_any,
    parse_form,
    parse_multipart,
    parse_stamp,
    stable_hash,
)
from gateway.errors import BadRequest, Ignored, Unauthorized, UnsupportedMediaType

FORM = "application/x-www-form-urlencoded"
# what a lead keeps of the email: the rest (HTML, headers, attachments) is left out
KEPT = ("from", "sender", "recipient", "subject", "body-plain", "stripped-text",
        "stripped-signature", "Date", "Message-Id")
TEXTS = ("body-plain", "stripped-text", "stripped-signature")
ROBOTS = ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply")
MACHINE_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Failed-Recipients")


class MailgunSchema(RouteSchema):
    """The webhook signing key and how far its signed timestamp may be off."""

    signing_key = fields.String(required=True, validate=validate.Length(min=8))
    tolerance_s = fields.Integer(load_default=defaults.MAILGUN_TOLERANCE_S,
                                 validate=validate.Range(1, 3600))


@dataclass(frozen=True, kw_only=True)
class MailgunSettings(RouteSettings):
    """The HTTP webhook signing key and how far a timestamp may be off (s)."""

    signing_key: str
    tolerance_s: int = defaults.MAILGUN_TOLERANCE_S


class Mailgun(Source[MailgunSettings]):
    """Inbound email a Mailgun route forwards."""

    name = "mailgun"
    settings_schema = MailgunSchema
    settings_type = MailgunSettings
    lead_defaults = {"source_type": "email", "source_platform": "direct"}
    success_status = 200        # Mailgun counts only 200 as delivered (406: refused)

    def sign(self, settings: MailgunSettings, body: bytes, *, stamp: str = "",
             msg_id: str = "") -> dict[str, str]:
        """Mailgun signs in the body, not in a header: see signed_fields."""
        return {}

    def authenticate(self, inbound: Inbound, settings: MailgunSettings) -> None:
        """Check the body's signature of timestamp + token, and the timestamp both ways."""
        form = _form(inbound)
        stamp, token, given = (form.get(k) for k in ("timestamp", "token", "signature"))
        if not all(isinstance(v, str) and v for v in (stamp, token, given)):
            raise Unauthorized("missing timestamp, token or signature")
        check_timestamp(parse_stamp(str(stamp), "timestamp", "a unix time"), inbound.now,
                        settings.tolerance_s, "timestamp")
        expected = signed_fields(settings.signing_key, str(stamp), str(token))["signature"]
        if not matches_any(expected, [str(given)], fold_case=True):
            raise Unauthorized("signature does not match timestamp and token")

    def parse(self, inbound: Inbound, settings: MailgunSettings) -> list[Draft]:
        """The email as one lead: its sender the contact; an auto-reply or bounce, none."""
        form = {k: v if isinstance(v, str) else v[-1] for k, v in _form(inbound).items()}
        headers = _headers(form)
        if why := _machine_sent(form, headers):
            raise Ignored(why)
        name, address = parseaddr(form.get("from") or form.get("sender") or "")
        if not address:
            raise BadRequest("an email without a sender address")
        lead = {"contact_email": address, **({"contact_name": name} if name else {})}
        # Mailgun's decoded fields first; the raw headers where it posts none
        kept = {k: _bounded(k, v) for k in KEPT if (v := form.get(k) or headers.get(k))}
        message_id = (form.get("Message-Id") or headers.get("Message-Id") or "").strip()
        if not message_id or len(message_id) > defaults.EMAIL_FIELD_MAX_CHARS:
            message_id = stable_hash(message_id or kept)     # none, or too long to keep
        return [Draft(event_id=message_id, lead=lead, fields=kept, used={"from"})]

    def sample(self, settings: MailgunSettings, now: float, tag: str) -> Sample:
        """An email forwarded by a Mailgun route, urlencoded as Mailgun posts it."""
        body = urlencode(forwarded_email(sample_contact(tag), tag) | signed_fields(
            settings.signing_key, str(int(now)), secrets.token_hex(25))).encode()
        return Sample(body, {"Content-Type": FORM})


def signed_fields(key: str, stamp: str, token: str) -> dict[str, str]:
    """The timestamp, token and signature fields Mailgun adds to a forwarded email."""
    return {"timestamp": stamp, "token": token,
            "signature": digest(key, (stamp + token).encode())}


def forwarded_email(who: dict[str, str], tag: str) -> dict[str, str]:
    """The fields of a plain-text email as a Mailgun route's forward() posts them."""
    message_id = f"<CAF{tag or '0'}x7Yq@mail.example.com>"
    headers = [["Received", "from mail.example.com by mxa.mailgun.org with SMTP"],
               ["Date", "Fri, 1 May 2026 12:00:00 -0400"], ["Message-Id", message_id],
               ["Subject", "Quote for a kitchen remodel"],
               ["From", f"{who['name']} <{who['email']}>"], ["To", "leads@acme.example"],
               ["Mime-Version", "1.0"], ["Content-Type", "text/plain; charset=\"UTF-8\""]]
    text = "Hello,\n\nCould you send me a quote for a kitchen remodel?\n\nThanks"
    return {"recipient": "leads@acme.example", "sender": who["email"],
            "from": f"{who['name']} <{who['email']}>", "subject": "Quote for a kitchen remodel",
            "body-plain": text, "stripped-text": text, "stripped-signature": "",
            "Date": "Fri, 1 May 2026 12:00:00 -0400", "Message-Id": message_id,
            "message-headers": json.dumps(headers)}


def _form(inbound: Inbound) -> dict[str, Any]:
    """The posted fields, urlencoded or (with attachments) multipart."""
    if inbound.mimetype == FORM:
        return parse_form(inbound.body)
    if inbound.mimetype == "multipart/form-data":
        return parse_multipart(inbound.body, inbound.headers.get("Content-Type", ""))
    raise UnsupportedMediaType(f"Mailgun posts {FORM} or multipart/form-data")


def _headers(form: dict[str, str]) -> dict[str, str]:
    """The email's headers from message-headers (first of each name, in Mailgun's casing of
    the names leadgate reads), over the same headers posted as fields."""
    try:
        pairs = json.loads(form.get("message-headers") or "[]")
    except ValueError:
        raise BadRequest("message-headers is not JSON") from None
    wanted = {name.lower(): name for name in (*KEPT, *MACHINE_HEADERS, "Auto-Submitted",
                                              "Precedence", "Content-Type", "Return-Path")}
    found: dict[str, str] = {}
    for pair in pairs if isinstance(pairs, list) else []:
        if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair):
            name = wanted.get(pair[0].lower())
            if name and name not in found:
                found[name] = pair[1]
    return found


def _machine_sent(form: dict[str, str], headers: dict[str, str]) -> str:
    """Why an email is an auto-reply or a bounce (RFC 3834, RFC 3464), or '' if a person's."""
    if headers.get("Auto-Submitted", "no").strip().lower() != "no":
        return "an automatic reply (Auto-Submitted)"
    if any(name in headers for name in MACHINE_HEADERS):
        return "an automatic reply or a bounce (its headers say so)"
    if headers.get("Precedence", "").strip().lower() in ("bulk", "junk", "auto_reply"):
        return "bulk or automatic mail (Precedence)"
    if "report-type=delivery-status" in headers.get("Content-Type", "").replace(" ", "").lower():
        return "a delivery status notification (a bounce)"
    sender = form.get("sender", "?").strip()        # MAIL FROM: empty for a bounce
    local = parseaddr(form.get("from") or sender)[1].partition("@")[0].lower()
    if sender in ("", "<>") or local in ROBOTS:
        return "mail from a mail system, not a person (a bounce or an automatic message)"
    return ""


def _bounded(name: str, value: str) -> str:
    """A field as a lead keeps it: the email's text cut to its bound."""
    limit = defaults.EMAIL_TEXT_MAX_CHARS if name in TEXTS else defaults.EMAIL_FIELD_MAX_CHARS
    return value[:limit]
