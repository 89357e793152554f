"""`standard_webhooks`: the spec's v1 scheme: HMAC-SHA256 of `id.timestamp.body`, base64."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from marshmallow import fields, validate

from gateway.domain.sources.base import (
    Draft,
    Inbound,
    Sample,
    Source,
    sample_contact,
)
from gateway.domain.sources.providers.generic import json_draft, parse_body
from gateway.domain.sources.recognize import Budget
from gateway.domain.sources.settings import (
    RouteSchema,
    RouteSettings,
)
from gateway.domain.sources.signatures import (
    check_timestamp,
    check_whsec,
    digest,
    matches_any,
    parse_stamp,
    require_header,
    whsec_key,
)
from gateway.errors import BadRequest, Unauthorized


def header_prefix(headers: Any) -> str:
    """`webhook` when a webhook-id is sent, else `svix` (Svix's default names): one set is
    read whole, never mixed."""
    return "webhook" if headers.get("webhook-id") else "svix"


class StandardWebhooksSchema(RouteSchema):
    """A Standard Webhooks route's settings: its whsec_ secret and timestamp tolerance."""

    secret = fields.String(required=True, validate=check_whsec)
    tolerance_s = fields.Integer(load_default=300, validate=validate.Range(1, 3600))


@dataclass(frozen=True, kw_only=True)
class StandardWebhooksSettings(RouteSettings):
    """The whsec_ secret and how far a timestamp may be off (s)."""

    secret: str
    tolerance_s: int = 300


class StandardWebhooks(Source[StandardWebhooksSettings]):
    """Senders that sign by the Standard Webhooks spec (Svix's header names too)."""

    name = "standard_webhooks"
    settings_schema = StandardWebhooksSchema
    settings_type = StandardWebhooksSettings

    def sign(self, settings: StandardWebhooksSettings, body: bytes, *, stamp: str = "",
             msg_id: str = "") -> dict[str, str]:
        """The webhook-id, webhook-timestamp and webhook-signature headers of a sender."""
        signature = digest(whsec_key(settings.secret), f"{msg_id}.{stamp}.".encode() + body,
                           encoding="base64")
        return {"webhook-id": msg_id, "webhook-timestamp": stamp,
                "webhook-signature": f"v1,{signature}"}

    def authenticate(self, inbound: Inbound, settings: StandardWebhooksSettings) -> None:
        """Check the signature of id, timestamp and body, and the timestamp both ways, from
        one whole set of headers: `webhook-*`, else Svix's default `svix-*`."""
        prefix = header_prefix(inbound.headers)
        msg_id = require_header(inbound.headers, f"{prefix}-id")
        stamp = require_header(inbound.headers, f"{prefix}-timestamp")
        signatures = require_header(inbound.headers, f"{prefix}-signature")
        ts = parse_stamp(stamp, f"{prefix}-timestamp", "a unix time")
        check_timestamp(ts, inbound.now, settings.tolerance_s, f"{prefix}-timestamp")
        expected = self.sign(settings, inbound.body, stamp=stamp, msg_id=msg_id)
        if not matches_any(expected["webhook-signature"], signatures.split()):
            raise Unauthorized(f"no {prefix}-signature matches")

    def parse(self, inbound: Inbound, settings: StandardWebhooksSettings) -> list[Draft]:
        """The JSON object's data as one lead draft."""
        body = parse_body(inbound)
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object")
        draft = json_draft(body, None, Budget.for_body(len(inbound.body)))
        draft.event_id = str(inbound.headers.get(f"{header_prefix(inbound.headers)}-id"))
        return [draft]

    def sample(self, settings: StandardWebhooksSettings, now: float, tag: str) -> Sample:
        """A lead.created delivery as a Standard Webhooks sender signs it."""
        who = sample_contact(tag)
        body = json.dumps({"type": "lead.created", "timestamp": "2026-05-01T12:00:00Z",
                           "data": {"name": who["name"], "email": who["email"],
                                    "phone": who["phone"]}}).encode()
        return Sample(body, {"Content-Type": "application/json",
                             **self.sign(settings, body, stamp=str(int(now)), msg_id=f"msg_{tag}")})
