"""`standard_webhooks`: the spec's v1 scheme: HMAC-SHA256 of `id.timestamp.body`, base64."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from marshmallow import fields, validate

from gateway.errors import BadRequest, Unauthorized
from gateway.sources.base import Draft, Inbound, RouteSettings, Sample, Source, sample_contact
from gateway.sources.generic import json_draft, parse_body
from gateway.sources.recognize import Budget
from gateway.sources.signatures import check_timestamp, digest, matches_any, require_header


class StandardWebhooksSettings(RouteSettings):
    secret = fields.String(required=True, validate=validate.Regexp(r"^whsec_[A-Za-z0-9+/=]+$"))
    tolerance_s = fields.Integer(load_default=300, validate=validate.Range(1, 3600))


class StandardWebhooks(Source):
    name = "standard_webhooks"
    settings_schema = StandardWebhooksSettings

    def authenticate(self, inbound: Inbound, settings: dict[str, Any]) -> None:
        msg_id = require_header(inbound.headers, "webhook-id")
        stamp = require_header(inbound.headers, "webhook-timestamp")
        signatures = require_header(inbound.headers, "webhook-signature")
        try:
            ts = int(stamp)
            key = base64.b64decode(settings["secret"].removeprefix("whsec_") + "==")
        except (ValueError, binascii.Error):
            raise Unauthorized("webhook-timestamp is not a unix time") from None
        check_timestamp(ts, inbound.now, settings["tolerance_s"], "webhook-timestamp")
        signed = f"{msg_id}.{ts}.".encode() + inbound.body
        expected = digest(key, signed, encoding="base64")
        candidates = [s.split(",", 1)[1] for s in signatures.split() if s.startswith("v1,")]
        if not matches_any(expected, candidates):
            raise Unauthorized("no webhook-signature matches")

    def parse(self, inbound: Inbound, settings: dict[str, Any]) -> list[Draft]:
        body = parse_body(inbound)
        if not isinstance(body, dict):
            raise BadRequest("body must be a JSON object")
        draft = json_draft(body, None, Budget.for_body(len(inbound.body)))
        draft.event_id = str(inbound.headers.get("webhook-id"))
        return [draft]

    def sample(self, settings: dict[str, Any], now: float, tag: str) -> Sample:
        who = sample_contact(tag)
        body = json.dumps({"type": "lead.created", "timestamp": "2026-05-01T12:00:00Z",
                           "data": {"name": who["name"], "email": who["email"],
                                    "phone": who["phone"]}}).encode()
        msg_id, stamp = f"msg_{tag}", str(int(now))
        key = base64.b64decode(settings["secret"].removeprefix("whsec_") + "==")
        signature = digest(key, f"{msg_id}.{stamp}.".encode() + body, encoding="base64")
        return Sample(body, {"Content-Type": "application/json", "webhook-id": msg_id,
                             "webhook-timestamp": stamp, "webhook-signature": f"v1,{signature}"})
