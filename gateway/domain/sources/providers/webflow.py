"""`webflow`: form_submission webhooks; signed (`<timestamp ms>:<body>`, hex) or URL-tokened."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from gateway.domain.sources.base import (
    Draft,
    Inbound,
    Sample,
    Source,
    sample_contact,
)
from gateway.domain.sources.recognize import recognize
from gateway.domain.sources.settings import (
    RouteSchema,
    RouteSettings,
)
from gateway.domain.sources.shape import part
from gateway.domain.sources.signatures import (
    check_timestamp,
    digest,
    matches_any,
    parse_json,
    parse_stamp,
    require_header,
)
from gateway.errors import BadRequest, Ignored, Unauthorized


class WebflowSchema(RouteSchema):
    """A Webflow route's settings: its signing secret and timestamp tolerance."""

    secret = fields.String(validate=validate.Length(min=8))
    tolerance_s = fields.Integer(load_default=300, validate=validate.Range(1, 3600))

    @validates_schema
    def _authenticated(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("url_token") and not data.get("secret"):
            raise ValidationError("a webflow route needs secret (API-made webhooks) or "
                                  "url_token (dashboard-made webhooks are unsigned)", "secret")


@dataclass(frozen=True, kw_only=True)
class WebflowSettings(RouteSettings):
    """The site's webhook secret ('': the URL token authenticates) and timestamp tolerance."""

    secret: str = ""
    tolerance_s: int = 300


class Webflow(Source[WebflowSettings]):
    """Webflow's form_submission webhooks, signed with the site's secret."""

    name = "webflow"
    settings_schema = WebflowSchema
    settings_type = WebflowSettings

    def sign(self, settings: WebflowSettings, body: bytes, *, stamp: str = "",
             msg_id: str = "") -> dict[str, str]:
        """Webflow's timestamp and signature headers (none without a secret)."""
        if not settings.secret:
            return {}
        return {"x-webflow-timestamp": stamp,
                "x-webflow-signature": digest(settings.secret, stamp.encode() + b":" + body)}

    def authenticate(self, inbound: Inbound, settings: WebflowSettings) -> None:
        """Check Webflow's signature and timestamp, if the route has a secret."""
        if not settings.secret:
            return      # the URL token, checked before any source runs, is the credential
        stamp = require_header(inbound.headers, "x-webflow-timestamp")
        given = require_header(inbound.headers, "x-webflow-signature")
        millis = parse_stamp(stamp, "x-webflow-timestamp", "a time in milliseconds")
        check_timestamp(millis / 1000, inbound.now, settings.tolerance_s, "x-webflow-timestamp")
        expected = self.sign(settings, inbound.body, stamp=stamp)["x-webflow-signature"]
        if not matches_any(expected, [given], fold_case=True):
            raise Unauthorized("x-webflow-signature does not match the body")

    def parse(self, inbound: Inbound, settings: WebflowSettings) -> list[Draft]:
        """A form_submission's data as one lead draft."""
        body = parse_json(inbound.body)
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object")
        if "triggerType" not in body and "_id" in body:          # the legacy v1 shape
            payload, submission_id = body, body.get("_id")
        elif body.get("triggerType") != "form_submission":
            raise Ignored(f"triggerType {body.get('triggerType')!r} carries no lead")
        else:
            payload = part(body, "payload")
            submission_id = payload.get("id")
        if not isinstance(submission_id, str | int) or submission_id in ("", True, False):
            raise BadRequest("not a Webflow form submission: no payload.id")
        data = payload.get("data")
        if not isinstance(data, dict):
            raise BadRequest("payload.data must be an object")
        values = {str(k): (str(v) if isinstance(v, int | float) and not isinstance(v, bool)
                           else v) for k, v in data.items()}
        for meta, name in (("name", "form_name"), ("formId", "form_id"), ("siteId", "site_id"),
                           ("submittedAt", "submitted_at")):
            if isinstance(payload.get(meta), str):
                values.setdefault(name, payload[meta])
        lead, used = recognize({k: v for k, v in values.items() if k in data})
        return [Draft(event_id=str(submission_id), lead=lead, fields=values, used=used)]

    def sample(self, settings: WebflowSettings, now: float, tag: str) -> Sample:
        """A form_submission as Webflow sends it."""
        who = sample_contact(tag)
        body = json.dumps({"triggerType": "form_submission", "payload": {
            "name": "Contact Us", "siteId": "65427cf400e02b306eaa049c",
            "data": {"First Name": who["first"], "Last Name": who["last"], "email": who["email"],
                     "Phone Number": int(who["phone"].lstrip("+")), "Message": "Call me"},
            "schema": [{"fieldName": n, "fieldType": "FormTextInput"}
                       for n in ("First Name", "Last Name", "email", "Phone Number", "Message")],
            "submittedAt": "2026-05-01T12:00:00.123Z", "id": f"6821ca84{tag}",
            "formId": "65429eadebe8a9f3a30f62d0"}}).encode()
        return Sample(body, {"Content-Type": "application/json",
                             **self.sign(settings, body, stamp=str(int(now * 1000)))})
