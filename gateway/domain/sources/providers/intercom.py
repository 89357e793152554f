"""`intercom`: `X-Hub-Signature: sha1=<hex>`; new leads, users and user-started conversations."""

from __future__ import annotations

import json

from gateway.domain.sources.base import (
    Draft,
    Inbound,
    Sample,
    Source,
    sample_contact,
)
from gateway.domain.sources.recognize import Budget, flatten, recognize
from gateway.domain.sources.settings import (
    SecretSchema,
    SecretSettings,
)
from gateway.domain.sources.shape import part, scalar
from gateway.domain.sources.signatures import (
    digest,
    matches_any,
    parse_json,
    require_header,
    stable_hash,
)
from gateway.errors import BadRequest, Ignored, Unauthorized

CONTACT_TOPICS = ("contact.lead.created", "contact.user.created")
CONVERSATION_TOPICS = ("conversation.user.created",)
CONTACT_KEYS = {"name": "contact_name", "email": "contact_email", "phone": "contact_phone"}


class Intercom(Source[SecretSettings]):
    """Intercom's contact and conversation notifications, signed with the app's secret."""

    name = "intercom"
    settings_schema = SecretSchema
    settings_type = SecretSettings
    lead_defaults = {"source_type": "chat"}
    success_status = 200

    def sign(self, settings: SecretSettings, body: bytes, *, stamp: str = "",
             msg_id: str = "") -> dict[str, str]:
        """Intercom's X-Hub-Signature: HMAC-SHA1 of the body."""
        return {"X-Hub-Signature": "sha1=" + digest(settings.secret, body, algorithm="sha1")}

    def authenticate(self, inbound: Inbound, settings: SecretSettings) -> None:
        """Check X-Hub-Signature against the body."""
        given = require_header(inbound.headers, "X-Hub-Signature")
        expected = self.sign(settings, inbound.body)["X-Hub-Signature"]
        if not matches_any(expected, [given], fold_case=True):
            raise Unauthorized("X-Hub-Signature does not match the body")

    def handshake(self, inbound: Inbound, settings: SecretSettings) -> tuple[int, str] | None:
        """Answer Intercom's HEAD request that validates a new endpoint."""
        return 200, ""      # Intercom validates a new endpoint URL with a HEAD request

    def parse(self, inbound: Inbound, settings: SecretSettings) -> list[Draft]:
        """A contact.lead.created notification as one lead draft."""
        body = parse_json(inbound.body)
        if not isinstance(body, dict) or body.get("type") != "notification_event":
            raise BadRequest("not an Intercom notification")
        topic = body.get("topic")
        if topic not in CONTACT_TOPICS + CONVERSATION_TOPICS:
            raise Ignored(f"topic {topic!r} carries no lead")
        data = part(body, "data")
        item = data.get("item")
        if not isinstance(item, dict):
            raise BadRequest("notification without data.item")
        contact = item
        if topic in CONVERSATION_TOPICS:
            source = part(item, "source")
            contact = part(source, "author")
        values = flatten(item, Budget.for_body(len(inbound.body)))
        lead = {mega: contact[key] for key, mega in CONTACT_KEYS.items()
                if isinstance(contact.get(key), str) and contact[key]}
        if not lead:
            lead, used = recognize(values)
        else:
            prefix = "source.author." if contact is not item else ""
            used = {prefix + key for key in CONTACT_KEYS if contact.get(key)}
        notification = scalar(body, "id", "id") or stable_hash({"topic": topic,
                                                                "item": item.get("id")})
        return [Draft(event_id=str(notification), lead=lead, fields=values, used=used)]

    def sample(self, settings: SecretSettings, now: float, tag: str) -> Sample:
        """A contact.lead.created notification as Intercom sends it."""
        who = sample_contact(tag)
        body = json.dumps({
            "type": "notification_event", "app_id": "abc123def", "topic": "contact.lead.created",
            "id": f"notif_{tag}", "delivery_status": "pending", "delivery_attempts": 1,
            "delivered_at": 0, "first_sent_at": int(now), "created_at": int(now), "links": {},
            "data": {"type": "notification_event_data", "item": {
                "type": "contact", "id": f"6961d897{tag}", "role": "lead",
                "email": who["email"], "phone": who["phone"], "name": who["name"],
                "custom_attributes": {"plan_interest": "pro"}, "utm_source": "google",
                "utm_campaign": "spring"}}}).encode()
        return Sample(body, {"Content-Type": "application/json", **self.sign(settings, body)})
