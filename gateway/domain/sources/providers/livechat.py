"""`livechat`: `incoming_chat` webhooks; the secret key travels in the body."""

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
from gateway.domain.sources.settings import (
    CHOSEN,
    RouteSchema,
    RouteSettings,
)
from gateway.domain.sources.shape import member, part, scalar
from gateway.domain.sources.signatures import parse_json, require_secret
from gateway.errors import BadRequest, Ignored

CUSTOMER_KEYS = {"name": "contact_name", "email": "contact_email",
                 "phone_number": "contact_phone"}
FORM_TYPES = {"name": "contact_name", "email": "contact_email", "phone": "contact_phone"}


class LiveChatSchema(RouteSchema):
    """A LiveChat route's settings: the webhook's secret key."""

    secret_key = fields.String(required=True, validate=CHOSEN)


@dataclass(frozen=True, kw_only=True)
class LiveChatSettings(RouteSettings):
    """The secret key LiveChat puts in each webhook's body."""

    secret_key: str


class LiveChat(Source[LiveChatSettings]):
    """LiveChat's incoming_chat webhooks: the customer and the pre-chat form."""

    name = "livechat"
    settings_schema = LiveChatSchema
    settings_type = LiveChatSettings
    lead_defaults = {"source_type": "chat"}
    success_status = 200

    def authenticate(self, inbound: Inbound, settings: LiveChatSettings) -> None:
        """Check the secret_key that LiveChat puts in the body."""
        body = _body(inbound)
        require_secret(body.get("secret_key"), settings.secret_key, "secret_key")

    def parse(self, inbound: Inbound, settings: LiveChatSettings) -> list[Draft]:
        """An incoming_chat's pre-chat form as one lead draft."""
        body = _body(inbound)
        if body.get("action") != "incoming_chat":
            raise Ignored(f"action {body.get('action')!r} carries no lead")
        payload = part(body, "payload")
        chat = payload.get("chat")
        if not isinstance(chat, dict) or not scalar(chat, "id", "payload.chat.id"):
            raise BadRequest("incoming_chat without payload.chat.id")
        thread = part(chat, "thread")
        thread_id = scalar(thread, "id", "payload.chat.thread.id")
        users = [u for u in member(chat, "users", list, "payload.chat.users", [])
                 if isinstance(u, dict)]
        customer = next((u for u in users if u.get("type") == "customer"), {})
        values: dict[str, Any] = {}
        lead: dict[str, Any] = {}
        used: set[str] = set()
        for field in _prechat_fields(thread):
            label, answer = str(field.get("label") or field.get("id") or ""), _answer(field)
            if label:
                values[label] = answer
                if (mega := FORM_TYPES.get(str(field.get("type")))) and answer:
                    lead[mega], used = answer, used | {label}
        for key, mega in CUSTOMER_KEYS.items():      # the customer record wins over the form
            if isinstance(customer.get(key), str) and customer[key]:
                values[f"customer.{key}"], lead[mega] = customer[key], customer[key]
                used.add(f"customer.{key}")
        for session in member(customer, "session_fields", list, "users[].session_fields", []):
            if isinstance(session, dict):
                values.update({f"session.{k}": v for k, v in session.items()})
        values["chat_id"] = str(chat["id"])
        event = f"{chat['id']}:{'' if thread_id is None else thread_id}"
        return [Draft(event_id=event, lead=lead, fields=values, used=used)]

    def sample(self, settings: LiveChatSettings, now: float, tag: str) -> Sample:
        """An incoming_chat webhook as LiveChat sends it."""
        who = sample_contact(tag)
        customer_id = "b7eff798-f8df-4364-8059-649c35c9ed0c"
        body = json.dumps({
            "webhook_id": "f8a7c1e2b3d4", "secret_key": settings.secret_key,
            "action": "incoming_chat", "organization_id": "390e44e6-f1e6-0368c-z6ddb-74g14508c2ex",
            "payload": {"chat": {
                "id": f"PJ0{tag.upper()}",
                "users": [{"id": customer_id, "type": "customer", "name": who["name"],
                           "email": who["email"], "phone_number": who["phone"],
                           "session_fields": [{"utm_source": "google"}]},
                          {"id": "agent@example.com", "type": "agent", "name": "Sam Agent"}],
                "thread": {"id": "K600PKZON8", "events": [{
                    "id": "0affb00a", "type": "filled_form", "form_type": "prechat",
                    "author_id": customer_id, "fields": [
                        {"type": "name", "id": "1", "label": "Your name", "answer": who["name"]},
                        {"type": "radio", "id": "2", "label": "Buying or selling?",
                         "answer": {"id": "0", "label": "Buying"}}]}]}}},
            "additional_data": {"chat_properties": {}}}).encode()
        return Sample(body, {"Content-Type": "application/json"})


def _body(inbound: Inbound) -> dict[str, Any]:
    body = parse_json(inbound.body)
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def _prechat_fields(thread: dict[str, Any]) -> list[dict[str, Any]]:
    return [field for event in member(thread, "events", list, "chat.thread.events", [])
            if isinstance(event, dict) and event.get("type") == "filled_form"
            for field in member(event, "fields", list, "thread.events[].fields", [])
            if isinstance(field, dict)]


def _answer(field: dict[str, Any]) -> Any:
    """`answer` (text or a chosen option) or `answers` (several options), as text."""
    if "answers" in field and isinstance(field["answers"], list):
        return [a.get("label") if isinstance(a, dict) else a for a in field["answers"]]
    answer = field.get("answer")
    return answer.get("label") if isinstance(answer, dict) else answer
