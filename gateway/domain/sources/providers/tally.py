"""`tally`: `Tally-Signature` = base64 HMAC-SHA256 of the body; fields by label and key."""

from __future__ import annotations

import json
from typing import Any

from gateway.domain.sources.base import (
    Draft,
    Inbound,
    Sample,
    Source,
    sample_contact,
)
from gateway.domain.sources.recognize import recognize
from gateway.domain.sources.settings import (
    ChosenSecretSchema,
    SecretSettings,
)
from gateway.domain.sources.shape import SCALAR, member, objects, scalar
from gateway.domain.sources.signatures import digest, matches_any, parse_json, require_header
from gateway.errors import BadRequest, Ignored, Unauthorized

CONTACT = "\0contact"      # marks a field that is a contact by its type
CONTACT_TYPES = {"INPUT_EMAIL": "contact_email", "INPUT_PHONE_NUMBER": "contact_phone"}


class Tally(Source[SecretSettings]):
    """Tally's FORM_RESPONSE webhooks, signed with the route's secret."""

    name = "tally"
    settings_schema = ChosenSecretSchema
    settings_type = SecretSettings

    def sign(self, settings: SecretSettings, body: bytes, *, stamp: str = "",
             msg_id: str = "") -> dict[str, str]:
        """Tally's Tally-Signature: base64 HMAC-SHA256 of the body."""
        return {"Tally-Signature": digest(settings.secret, body, encoding="base64")}

    def authenticate(self, inbound: Inbound, settings: SecretSettings) -> None:
        """Check Tally-Signature against the body."""
        given = require_header(inbound.headers, "Tally-Signature")
        if not matches_any(self.sign(settings, inbound.body)["Tally-Signature"], [given]):
            raise Unauthorized("Tally-Signature does not match the body")

    def parse(self, inbound: Inbound, settings: SecretSettings) -> list[Draft]:
        """A FORM_RESPONSE's fields as one lead draft."""
        body = parse_json(inbound.body)
        if not isinstance(body, dict) or not scalar(body, "eventId", "eventId"):
            raise BadRequest("not a Tally delivery: no eventId")
        if body.get("eventType") != "FORM_RESPONSE":
            raise Ignored(f"eventType {body.get('eventType')!r} carries no lead")
        data = member(body, "data", dict, "data", {})
        found: dict[str, Any] = {}
        values: dict[str, Any] = {}
        names: list[set[str]] = []
        for field in objects(data, "fields", "data.fields"):
            value = _value(field)
            kind = scalar(field, "type", "data.fields[].type")
            label, key = (scalar(field, n, f"data.fields[].{n}") for n in ("label", "key"))
            names.append({str(label or ""), str(key or "")} - {""})
            for name in names[-1]:
                values[name] = value
            if kind in CONTACT_TYPES and value:
                found[CONTACT_TYPES[kind]] = value
                names[-1].add(CONTACT)
        lead, used = recognize(values)
        lead.update(found)
        for field_names in names:      # a field used by label is used by key
            if field_names & used or CONTACT in field_names:
                used |= field_names - {CONTACT}
        return [Draft(event_id=str(body["eventId"]), lead=lead, fields=values, used=used)]


    def sample(self, settings: SecretSettings, now: float, tag: str) -> Sample:
        """A FORM_RESPONSE delivery as Tally sends it."""
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
        return Sample(body, {"Content-Type": "application/json", **self.sign(settings, body)})


def _value(field: dict[str, Any]) -> Any:
    """Choice answers resolved from option ids to their text."""
    value = field.get("value")
    options = member(field, "options", list, "data.fields[].options")
    if options is not None and value is not None:
        text = {scalar(o, "id", "data.fields[].options[].id"): o.get("text")
                for o in options if isinstance(o, dict)}
        ids = value if isinstance(value, list) else [value]
        if not all(isinstance(i, SCALAR) for i in ids):
            raise BadRequest("data.fields[].value must be option ids when the field has options")
        return [text.get(i, i) for i in ids]
    return value
