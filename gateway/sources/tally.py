"""`tally`: `Tally-Signature` = base64 HMAC-SHA256 of the body; fields by label and key."""

from __future__ import annotations

import json
from typing import Any

from gateway.errors import BadRequest, Ignored, Unauthorized
from gateway.sources.base import Draft, Inbound, Sample, SecretSettings, Source, sample_contact
from gateway.sources.recognize import recognize
from gateway.sources.signatures import digest, matches_any, parse_json, require_header

CONTACT_TYPES = {"INPUT_EMAIL": "contact_email", "INPUT_PHONE_NUMBER": "contact_phone"}


class Tally(Source):
    name = "tally"
    settings_schema = SecretSettings

    def authenticate(self, inbound: Inbound, settings: dict[str, Any]) -> None:
        given = require_header(inbound.headers, "Tally-Signature")
        if not matches_any(digest(settings["secret"], inbound.body, encoding="base64"), [given]):
            raise Unauthorized("Tally-Signature does not match the body")

    def parse(self, inbound: Inbound, settings: dict[str, Any]) -> list[Draft]:
        body = parse_json(inbound.body)
        if not isinstance(body, dict) or not body.get("eventId"):
            raise BadRequest("not a Tally delivery: no eventId")
        if body.get("eventType") != "FORM_RESPONSE":
            raise Ignored(f"eventType {body.get('eventType')!r} carries no lead")
        data = body.get("data") if isinstance(body.get("data"), dict) else {}
        found: dict[str, Any] = {}
        values: dict[str, Any] = {}
        for field in data.get("fields") or []:
            if not isinstance(field, dict):
                continue
            value = _value(field)
            for name in {str(field.get("label") or ""), str(field.get("key") or "")} - {""}:
                values[name] = value
            if field.get("type") in CONTACT_TYPES and value:
                found[CONTACT_TYPES[field["type"]]] = value
        lead, used = recognize(values)
        lead.update(found)
        for field in data.get("fields") or []:      # a field used by label is used by key
            names = {str(field.get("label")), str(field.get("key"))} if isinstance(
                field, dict) else set()
            if names & used or (isinstance(field, dict) and field.get("type") in CONTACT_TYPES):
                used |= names
        return [Draft(event_id=str(body["eventId"]), lead=lead, fields=values, used=used)]


    def sample(self, settings: dict[str, Any], now: float, tag: str) -> Sample:
        who = sample_contact(tag)
        body = json.dumps({"eventId": f"a4cb511e-{tag}", "eventType": "FORM_RESPONSE",
                           "createdAt": "2026-05-01T12:00:00.000Z", "data": {
                               "responseId": f"r{tag}", "formId": "VwbNEw", "formName": "Quote",
                               "fields": [
                                   {"key": "question_1", "label": "Name", "type": "INPUT_TEXT",
                                    "value": who["name"]},
                                   {"key": "question_2", "label": "Email",
                                    "type": "INPUT_EMAIL", "value": who["email"]},
                                   {"key": "question_3", "label": "Phone",
                                    "type": "INPUT_PHONE_NUMBER", "value": who["phone"]}]}}
                          ).encode()
        return Sample(body, {"Content-Type": "application/json",
                             "Tally-Signature": digest(settings["secret"], body,
                                                       encoding="base64")})


def _value(field: dict[str, Any]) -> Any:
    """Choice answers resolved from option ids to their text."""
    value, options = field.get("value"), field.get("options")
    if isinstance(options, list) and value is not None:
        text = {o.get("id"): o.get("text") for o in options if isinstance(o, dict)}
        ids = value if isinstance(value, list) else [value]
        return [text.get(i, i) for i in ids]
    return value
