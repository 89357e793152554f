"""`twilio`: inbound SMS (the messaging webhook) and finished inbound calls (the call status
callback), signed `X-Twilio-Signature: <base64 HMAC-SHA1 of the URL and the sorted form
parameters, keyed by the account's auth token>`; answered with empty TwiML."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from marshmallow import fields, validate

from gateway.domain.sources.base import (
    Answer,
    Draft,
    Inbound,
    Outcome,
    Sample,
    Source,
    sample_contact,
)
from gateway.domain.sources.settings import (
    CallSettings,
    MinDurationSchema,
    RouteSchema,
    RouteSettings,
)
from gateway.domain.sources.signatures import digest, matches_any, parse_form, require_header
from gateway.errors import BadRequest, Ignored, Unauthorized, UnsupportedMediaType

EMPTY_TWIML = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
FORM = "application/x-www-form-urlencoded"
FINISHED = ("completed", "busy", "no-answer", "canceled", "failed")
DEFAULT_PORTS = {"https": 443, "http": 80}


class TwilioSchema(RouteSchema, MinDurationSchema):
    """The account's auth token, the URL Twilio signs, and the route's call filter."""

    auth_token = fields.String(required=True, validate=validate.Length(min=8))
    # the webhook URL exactly as set in Twilio, when a proxy changes the one received
    public_url = fields.URL(require_tld=False, schemes={"http", "https"})


@dataclass(frozen=True, kw_only=True)
class TwilioSettings(RouteSettings, CallSettings):
    """The account's auth token, the URL Twilio signs ('': the one received), call filters."""

    auth_token: str
    public_url: str = ""


class Twilio(Source[TwilioSettings]):
    """Inbound SMS and finished inbound calls from a Twilio number."""

    name = "twilio"
    settings_schema = TwilioSchema
    settings_type = TwilioSettings
    lead_defaults = {"source_type": "sms", "source_platform": "direct"}

    def sign(self, settings: TwilioSettings, body: bytes, *, stamp: str = "",
             msg_id: str = "") -> dict[str, str]:
        """Twilio's X-Twilio-Signature of a form post; stamp is the URL Twilio posts to (the
        part of its scheme that is neither body nor key)."""
        return {"X-Twilio-Signature": signature(settings.auth_token, stamp,
                                                parse_form(body))}

    def authenticate(self, inbound: Inbound, settings: TwilioSettings) -> None:
        """Check X-Twilio-Signature over the public URL (with and without its default port,
        as Twilio's own validator does) and the form parameters."""
        if inbound.mimetype != FORM:
            raise UnsupportedMediaType(f"Twilio posts {FORM}")
        given = require_header(inbound.headers, "X-Twilio-Signature")
        params = parse_form(inbound.body)
        url = settings.public_url or inbound.url
        expected = [signature(settings.auth_token, u, params) for u in url_forms(url)]
        if not any(matches_any(e, [given]) for e in expected):
            raise Unauthorized("X-Twilio-Signature does not match the URL and parameters")

    def parse(self, inbound: Inbound, settings: TwilioSettings) -> list[Draft]:
        """An inbound SMS, or a finished inbound call's status callback, as one draft."""
        form = {k: v if isinstance(v, str) else v[-1] for k, v in parse_form(inbound.body).items()}
        if form.get("MessageSid") or form.get("SmsMessageSid"):
            return [_sms(form)]
        if form.get("CallSid"):
            return [_call(form, settings)]
        raise BadRequest("not a Twilio messaging or call webhook: no MessageSid or CallSid")

    def answer(self, outcome: Outcome, inbound: Inbound, settings: TwilioSettings) -> Answer:
        """Empty TwiML: nothing said back to the texter (Twilio ignores it on a status
        callback)."""
        return Answer(200, EMPTY_TWIML, "text/xml")

    def sample(self, settings: TwilioSettings, now: float, tag: str) -> Sample:
        """An inbound SMS as Twilio posts it to public_url."""
        body = urlencode(sms_params(sample_contact(tag), tag)).encode()
        return Sample(body, {"Content-Type": FORM, **self.sign(
            settings, body, stamp=settings.public_url or "")})


def signature(token: str, url: str, params: dict[str, Any]) -> str:
    """Twilio's scheme: the URL, then each parameter's name and value(s) by sorted name."""
    text = url + "".join(name + value for name in sorted(params)
                         for value in sorted(set(_values(params[name]))))
    return digest(token, text.encode(), algorithm="sha1", encoding="base64")


def url_forms(url: str) -> list[str]:
    """The URL as received, and with its default port added or removed."""
    parts = urlsplit(url)
    default = DEFAULT_PORTS.get(parts.scheme)
    if default is None or not parts.hostname:
        return [url]
    host = parts.netloc.rpartition("@")[2]
    if parts.port is None:
        other = host + f":{default}"
    elif parts.port == default:
        other = host.rpartition(":")[0]
    else:
        return [url]
    return [url, urlunsplit(parts._replace(netloc=other))]


def _values(value: Any) -> list[str]:
    return value if isinstance(value, list) else [value]


def _sms(form: dict[str, str]) -> Draft:
    """An inbound message: the sender's number (a WhatsApp one without its prefix)."""
    sender = form.get("From", "").removeprefix("whatsapp:")
    lead = {"contact_phone": sender, "source_type": "sms"} if sender else {}
    return Draft(event_id=form.get("MessageSid") or form["SmsMessageSid"], lead=lead,
                 fields=form, used={"From"} if sender else set())


def _call(form: dict[str, str], settings: TwilioSettings) -> Draft:
    """A finished inbound call from its status callback; any other call request is none."""
    status = form.get("CallStatus", "")
    if "CallbackSource" not in form and status not in FINISHED:
        raise BadRequest("a call that is still ringing: set this URL as the number's call "
                         "status callback, not as its voice URL ('A call comes in')")
    if form.get("Direction", "inbound") != "inbound":
        raise Ignored("an outbound call is not a lead")
    if status not in FINISHED:
        raise Ignored(f"call status {status!r}: the lead is its final status callback")
    duration = form.get("CallDuration", "")          # seconds (Duration is in minutes)
    settings.screen(duration_s=float(duration) if duration.isdigit() else None)
    lead: dict[str, Any] = {"contact_phone": form.get("From", ""), "source_type": "phone_call"}
    used = {"From"}
    if form.get("CallerName"):
        lead["contact_name"], used = form["CallerName"], used | {"CallerName"}
    return Draft(event_id=form["CallSid"], lead=lead, fields=form, used=used)


def sms_params(who: dict[str, str], tag: str) -> dict[str, str]:
    """The parameters of Twilio's request for an inbound SMS."""
    sid = f"SM{tag or '0'}{'0' * 32}"[:34]
    return {"ToCountry": "US", "ToState": "CA", "SmsMessageSid": sid, "NumMedia": "0",
            "ToCity": "SAN FRANCISCO", "FromZip": "94105", "SmsSid": sid, "FromState": "CA",
            "SmsStatus": "received", "FromCity": "SAN FRANCISCO",
            "Body": "Hi, do you have availability this week?", "FromCountry": "US",
            "To": "+14155550100", "MessagingServiceSid": "MG" + "1" * 32, "ToZip": "94105",
            "NumSegments": "1", "MessageSid": sid, "AccountSid": "AC" + "2" * 32,
            "From": who["phone"], "ApiVersion": "2010-04-01"}
