"""`callrail`: post-call (and call-modified), text-message and form-submission webhooks, signed
`Signature: <base64 HMAC-SHA1 of the body, keyed by the company's signing token>`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.domain.sources.base import (
    Draft,
    Inbound,
    Sample,
    Source,
    sample_contact,
)
from gateway.domain.sources.recognize import Budget, flatten, recognize
from gateway.domain.sources.settings import (
    CallSettings,
    FirstContactSchema,
    MinDurationSchema,
    SecretSchema,
    SecretSettings,
)
from gateway.domain.sources.shape import member, scalar
from gateway.domain.sources.signatures import digest, matches_any, parse_json, require_header
from gateway.errors import BadRequest, Ignored, Unauthorized

CONTACT = {"customer_name": "contact_name", "customer_phone_number": "contact_phone",
           "customer_email": "contact_email"}
SMS_CONTACT = {"customer_name": "contact_name", "source_number": "contact_phone",
               "customer_phone_number": "contact_phone"}
PAID = ("ads", "adwords", "paid", "cpc", "ppc")


class CallRailSchema(SecretSchema, MinDurationSchema, FirstContactSchema):
    """The company's webhook signing token, and the route's call filters."""


@dataclass(frozen=True, kw_only=True)
class CallRailSettings(SecretSettings, CallSettings):
    """The company's signing token and the route's call filters."""


class CallRail(Source[CallRailSettings]):
    """CallRail's call, text-message and form-submission webhooks of one company."""

    name = "callrail"
    settings_schema = CallRailSchema
    settings_type = CallRailSettings
    lead_defaults = {"source_type": "phone_call"}

    def sign(self, settings: CallRailSettings, body: bytes, *, stamp: str = "",
             msg_id: str = "") -> dict[str, str]:
        """CallRail's Signature: the base64 HMAC-SHA1 of the body."""
        return {"Signature": digest(settings.secret, body, algorithm="sha1",
                                    encoding="base64")}

    def authenticate(self, inbound: Inbound, settings: CallRailSettings) -> None:
        """Check Signature against the body."""
        given = require_header(inbound.headers, "Signature")
        if not matches_any(self.sign(settings, inbound.body)["Signature"], [given]):
            raise Unauthorized("Signature does not match the body")

    def parse(self, inbound: Inbound, settings: CallRailSettings) -> list[Draft]:
        """A call, a text message or a form submission as one lead draft."""
        body = parse_json(inbound.body)
        if not isinstance(body, dict):
            raise BadRequest("not a CallRail webhook: the body is not a JSON object")
        kind = _kind(body)
        if str(scalar(body, "direction", "direction") or "inbound").lower() != "inbound":
            raise Ignored(f"an outbound {kind.replace('_', ' ')} is not a lead")
        rid = scalar(body, "resource_id", "resource_id") or scalar(body, "id", "id")
        if rid in (None, "") or isinstance(rid, bool):
            raise BadRequest("a CallRail webhook without resource_id")
        values = flatten(body, Budget.for_body(len(inbound.body)))
        if kind == "phone_call":
            settings.screen(duration_s=_number(body.get("duration")),
                        first_contact=_flag(body.get("first_call")))
        elif kind == "form":
            settings.screen(first_contact=_flag(body.get("first_form")))
        lead, used = _contact(body, values, SMS_CONTACT if kind == "sms" else CONTACT)
        lead.update(source_type=kind, source_platform=platform(body))
        event_id = str(rid) if isinstance(body.get("resource_id"), str) else f"{kind}-{rid}"
        return [Draft(event_id=event_id, lead=lead, fields=values, used=used)]

    def sample(self, settings: CallRailSettings, now: float, tag: str) -> Sample:
        """A post-call webhook of a call from a Google Ads click, as CallRail sends it."""
        body = json.dumps(post_call(sample_contact(tag), tag)).encode()
        return Sample(body, {"Content-Type": "application/json", **self.sign(settings, body)})


def post_call(who: dict[str, str], tag: str) -> dict[str, Any]:
    """CallRail's post-call payload (its current field names) for a Google Ads caller."""
    return {
        "resource_id": f"CAL{tag or '0'}8f4c1b2a9e7d4c3b8a6f5e4d3c2b1a0",
        "company_resource_id": "COM8154748ae6bd4e278a7cddd38a662f4f",
        "tracker_resource_id": "TRK8154748ae6bd4e278a7cddd38a662f4f",
        "person_resource_id": "PER8154748ae6bd4e278a7cddd38a662f4f",
        "answered": True, "business_phone_number": "+14045550100", "call_type": "answered",
        "company_name": "Acme Plumbing", "company_time_zone": "America/New_York",
        "created_at": "2026-05-01T12:00:00.000-04:00", "customer_city": "Atlanta",
        "customer_country": "US", "customer_name": who["name"],
        "customer_phone_number": who["phone"], "customer_state": "GA", "direction": "inbound",
        "duration": 143, "first_call": True, "formatted_call_type": "Answered Call",
        "formatted_tracking_source": "Google Ads", "source": "Google Ads",
        "source_name": "Google Ads Call Extension", "medium": "CPC",
        "recording": "https://app.callrail.com/calls/CAL0/recording/redirect?access_key=a1b2c3",
        "recording_duration": "131", "start_time": "2026-05-01T12:00:00.000-04:00",
        "tracking_phone_number": "+14045558514", "formatted_tracking_phone_number":
        "404-555-8514", "voicemail": False, "prior_calls": 0, "total_calls": 1,
        "keywords": "emergency plumber", "landing_page_url": "https://acmeplumbing.example/",
        "referring_url": "https://www.google.com/", "gclid": "Cj0KCQjw-sample-gclid",
        "utm_source": "google", "utm_medium": "cpc", "utm_campaign": "Emergency", "tags": []}


def _kind(body: dict[str, Any]) -> str:
    """phone_call, sms or form, by the fields only that kind of webhook has."""
    if "form_data" in body:
        return "form"
    if "content" in body and ("thread_resource_id" in body or "source_number" in body):
        return "sms"
    if "call_type" in body or "duration" in body or "answered" in body:
        return "phone_call"
    raise Ignored("not a call, text message or form submission webhook")


def _contact(body: dict[str, Any], values: dict[str, Any], names: dict[str, str]
             ) -> tuple[dict[str, Any], set[str]]:
    """The contact CallRail names at the top level, else recognised in form_data."""
    lead: dict[str, Any] = {}
    used: set[str] = set()
    form = member(body, "form_data", dict, "form_data", {})
    found, seen = recognize({f"form_data.{k}": v for k, v in form.items()})
    lead.update(found)
    used |= seen
    for key, target in names.items():
        value = body.get(key)
        if isinstance(value, str) and value.strip() and target not in lead:
            lead[target], used = value, used | {key}
    return lead, used


def platform(body: dict[str, Any]) -> str:
    """MEGA's source_platform from CallRail's attribution (its source, else the legacy
    tracking-source fields), a gclid being the surest sign of a Google Ads click. An fbclid is
    not: Facebook adds it to organic links too."""
    said = " ".join(str(body.get(k) or "") for k in (
        "source", "formatted_tracking_source", "callsource")).lower().replace("_", " ")
    medium = f"{body.get('medium') or ''} {body.get('utm_medium') or ''}".lower()
    paid = any(word in PAID for word in said.split() + medium.split())
    if body.get("gclid") or ("google" in said and paid):
        return "google_ads"
    if "google" in said:
        return "google_organic"
    if paid and any(name in said for name in ("facebook", "instagram", "meta")):
        return "meta_ads"
    if not said.strip() or said.split()[0] == "direct":
        return "direct"
    return "referral"


def _number(value: Any) -> float | None:
    """CallRail's duration (a number, or its digits as text); None when it has none."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _flag(value: Any) -> bool | None:
    """first_call/first_form as a boolean; None when the payload does not say."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None
