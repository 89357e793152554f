"""`typeform`: `Typeform-Signature: sha256=<base64 HMAC-SHA256>`; answers by field ref or title."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from marshmallow import fields

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
from gateway.domain.sources.shape import member, objects, scalar
from gateway.domain.sources.signatures import digest, matches_any, parse_json, require_header
from gateway.errors import BadRequest, Ignored, Unauthorized

VALUE_KEYS = ("text", "email", "phone_number", "number", "boolean", "date", "url", "file_url")


class TypeformSchema(ChosenSecretSchema):
    """A Typeform route's settings: its secret, and whether partial responses count."""

    accept_partial = fields.Boolean(load_default=False)


@dataclass(frozen=True, kw_only=True)
class TypeformSettings(SecretSettings):
    """The secret the user picked, and whether partial responses count."""

    accept_partial: bool = False


class Typeform(Source[TypeformSettings]):
    """Typeform's form_response webhooks, signed with the route's secret."""

    name = "typeform"
    settings_schema = TypeformSchema
    settings_type = TypeformSettings

    def sign(self, settings: TypeformSettings, body: bytes, *, stamp: str = "",
             msg_id: str = "") -> dict[str, str]:
        """Typeform's Typeform-Signature: sha256= and the base64 HMAC of the body."""
        return {"Typeform-Signature": "sha256=" + digest(settings.secret, body,
                                                         encoding="base64")}

    def authenticate(self, inbound: Inbound, settings: TypeformSettings) -> None:
        """Check Typeform-Signature against the body."""
        given = require_header(inbound.headers, "Typeform-Signature")
        expected = self.sign(settings, inbound.body)["Typeform-Signature"]
        if not matches_any(expected, [given]):
            raise Unauthorized("Typeform-Signature does not match the body")

    def parse(self, inbound: Inbound, settings: TypeformSettings) -> list[Draft]:
        """A form_response's answers as one lead draft."""
        body = parse_json(inbound.body)
        if not isinstance(body, dict) or not isinstance(body.get("form_response"), dict):
            raise BadRequest("not a Typeform delivery: no form_response")
        kind = body.get("event_type")
        if kind == "form_response_partial" and not settings.accept_partial:
            raise Ignored("partial response (accept_partial is off)")
        if kind not in ("form_response", "form_response_partial"):
            raise Ignored(f"event_type {kind!r} carries no lead")
        if not scalar(body, "event_id", "event_id"):
            raise BadRequest("no event_id")
        answers, types = _answers(body["form_response"])
        lead, used = recognize(answers)
        for name, value in answers.items():
            if types.get(name) == "email":
                lead["contact_email"], used = value, used | {name}
            elif types.get(name) == "phone_number":
                lead["contact_phone"], used = value, used | {name}
        if "contact_name" not in lead and (titled := _titled_name(answers, types)):
            lead["contact_name"], used = answers[titled], used | {titled}
        return [Draft(event_id=str(body["event_id"]), lead=lead, fields=answers, used=used)]


    def sample(self, settings: TypeformSettings, now: float, tag: str) -> Sample:
        """A form_response delivery as Typeform sends it."""
        who = sample_contact(tag)
        body = json.dumps({"event_id": f"01HZX3V5N6S7{tag.upper()}", "event_type": "form_response",
                           "form_response": {
                               "form_id": "lT4Z3j", "submitted_at": "2026-05-01T12:00:00Z",
                               "hidden": {"utm_source": "newsletter"},
                               "definition": {"id": "lT4Z3j", "title": "Get a quote", "fields": [
                                   {"id": "JwW", "title": "What is your name?",
                                    "type": "short_text", "ref": "name"}]},
                               "answers": [
                                   {"type": "text", "text": who["name"],
                                    "field": {"id": "JwW", "type": "short_text", "ref": "name"}},
                                   {"type": "email", "email": who["email"],
                                    "field": {"id": "SME", "type": "email", "ref": "email"}},
                                   {"type": "phone_number", "phone_number": who["phone"],
                                    "field": {"id": "k6T", "type": "phone_number",
                                              "ref": "phone"}}]}}).encode()
        return Sample(body, {"Content-Type": "application/json", **self.sign(settings, body)})


def _answers(response: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Every answer by field ref (else title), hidden fields as `hidden.<name>`, and types."""
    definition = member(response, "definition", dict, "form_response.definition", {})
    titles = {scalar(f, "id", "definition.fields[].id"): f.get("title", "")
              for f in objects(definition, "fields", "form_response.definition.fields")}
    values: dict[str, Any] = {}
    types: dict[str, str] = {}
    for answer in objects(response, "answers", "form_response.answers"):
        field = member(answer, "field", dict, "form_response.answers[].field", {})
        ref, field_id = (scalar(field, key, f"answers[].field.{key}") for key in ("ref", "id"))
        name = str(ref or titles.get(field_id, "") or field_id or "")
        if name:
            values[name], types[name] = _value(answer), str(answer.get("type"))
    for name, value in member(response, "hidden", dict, "form_response.hidden", {}).items():
        values[f"hidden.{name}"] = value
    return values, types


def _titled_name(answers: dict[str, Any], types: dict[str, str]) -> str | None:
    """A text answer titled like "What is your name?" (not a company's name)."""
    for name, kind in types.items():
        lowered = name.lower()
        if (kind == "text" and "name" in lowered and isinstance(answers.get(name), str)
                and not any(w in lowered for w in ("company", "business", "user"))):
            return name
    return None


def _value(answer: dict[str, Any]) -> Any:
    kind = answer.get("type")
    if kind == "choice":
        choice = member(answer, "choice", dict, "answers[].choice", {})
        return choice.get("label") or choice.get("other")
    if kind == "choices":
        choices = member(answer, "choices", dict, "answers[].choices", {})
        labels = member(choices, "labels", list, "answers[].choices.labels", [])
        return [*labels, *([choices["other"]] if choices.get("other") else [])]
    return answer.get(kind) if kind in VALUE_KEYS else None
