"""`gohighlevel`: HighLevel's `ContactCreate` app webhook and the workflow "Webhook" action.

App webhooks are signed by HighLevel's private key over the raw body: `X-GHL-Signature`
(Ed25519, base64) against the public key HighLevel publishes (`public_key`), and, on older
deliveries only, `X-WH-Signature` (RSA-SHA256, base64; `rsa_public_key`). Workflow webhooks
are unsigned: the route's URL token is their credential. The contact's id is the event id, so
an app webhook and a workflow webhook of one contact, and HighLevel's retries, are one lead.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa
from marshmallow import ValidationError, fields, validates_schema

from gateway.domain.sources.base import (
    Draft,
    Inbound,
    Sample,
    Source,
    sample_contact,
)
from gateway.domain.sources.recognize import flatten, recognize
from gateway.domain.sources.settings import RouteSchema, RouteSettings
from gateway.domain.sources.shape import scalar
from gateway.domain.sources.signatures import parse_json
from gateway.errors import BadRequest, Ignored, Unauthorized

ED25519_HEADER, RSA_HEADER = "X-GHL-Signature", "X-WH-Signature"
MAX_PEM_CHARS = 4096
# HighLevel's contact source (free text) -> MEGA source_type; the first word found wins
SOURCE_TYPES = (("call", "phone_call"), ("phone", "phone_call"), ("sms", "sms"),
                ("text message", "sms"), ("chat", "chat"), ("messenger", "chat"),
                ("whatsapp", "chat"), ("email", "email"), ("import", "import"),
                ("csv", "import"), ("manual", "manual"))
WORKFLOW_KEPT = ("contact_id", "first_name", "last_name", "full_name", "email", "phone", "tags",
                 "company_name", "contact_source", "contact_type", "date_created",
                 "full_address", "city", "state", "country", "postal_code", "customData",
                 "attributionSource", "location", "workflow")


@functools.lru_cache(maxsize=64)
def public_key(pem: str) -> Any:
    """A PEM public key, loaded once (ValueError if it is not one)."""
    return serialization.load_pem_public_key(pem.encode())


def _key_of(kind: type) -> Any:
    def check(pem: str) -> None:
        """A PEM public key of the kind this setting takes."""
        try:
            key = public_key(pem) if len(pem) <= MAX_PEM_CHARS else None
        except (ValueError, TypeError):
            key = None
        if not isinstance(key, kind):
            raise ValidationError(f"must be a PEM public key ({kind.__name__.removesuffix('Key')})")
    return check


class HighLevelSchema(RouteSchema):
    """The schema of HighLevelSettings: a key or the URL token is required."""

    public_key = fields.String(validate=_key_of(ed25519.Ed25519PublicKey))
    rsa_public_key = fields.String(validate=_key_of(rsa.RSAPublicKey))

    @validates_schema
    def _authenticated(self, data: dict[str, Any], **_: Any) -> None:
        if not any(data.get(k) for k in ("public_key", "rsa_public_key", "url_token")):
            raise ValidationError("a gohighlevel route needs public_key (app webhooks) or "
                                  "url_token (workflow webhooks)", "public_key")


@dataclass(frozen=True, kw_only=True)
class HighLevelSettings(RouteSettings):
    """A HighLevel route's keys: its public keys (Ed25519, legacy RSA) and URL token."""

    public_key: str = ""                  # PEM; '': app webhooks are not taken
    rsa_public_key: str = ""              # PEM; '': legacy RSA signatures are not taken


class HighLevel(Source[HighLevelSettings]):
    """HighLevel's ContactCreate app webhooks and workflow "Webhook" actions."""

    name = "gohighlevel"
    settings_schema = HighLevelSchema
    settings_type = HighLevelSettings
    lead_defaults = {"source_type": "form", "source_platform": "ghl"}
    success_status = 200

    def authenticate(self, inbound: Inbound, settings: HighLevelSettings) -> None:
        """A signature HighLevel's public key verifies, else (workflow webhooks) the URL token
        the intake checked already; a signature that is sent must verify."""
        for header, pem in ((ED25519_HEADER, settings.public_key),
                            (RSA_HEADER, settings.rsa_public_key)):
            if (sent := inbound.headers.get(header)) and pem:
                return verify(public_key(pem), sent, inbound.body, header)
        if any(inbound.headers.get(h) for h in (ED25519_HEADER, RSA_HEADER)) or \
                not settings.url_token:
            raise Unauthorized(f"no {ED25519_HEADER} (or {RSA_HEADER}) this route's public key "
                               "verifies")
        return None

    def parse(self, inbound: Inbound, settings: HighLevelSettings) -> list[Draft]:
        """A ContactCreate event or a workflow webhook's contact: one lead draft."""
        body = parse_json(inbound.body)
        if not isinstance(body, dict):
            raise BadRequest("not a HighLevel webhook: the body is not an object")
        if "type" in body:
            if body["type"] != "ContactCreate":
                raise Ignored(f"event type {body['type']!r} carries no lead")
            return [contact_draft(body, "id", "source", body)]
        if "contact_id" not in body:
            raise BadRequest("not a HighLevel webhook: no type and no contact_id")
        kept = {k: body[k] for k in WORKFLOW_KEPT if k in body}
        return [contact_draft(kept, "contact_id", "contact_source", body)]

    def sample(self, settings: HighLevelSettings, now: float, tag: str) -> Sample:
        """A workflow "Webhook" action's delivery (HighLevel's private key, which signs app
        webhooks, is HighLevel's alone)."""
        body = json.dumps(workflow_sample(tag)).encode()
        return Sample(body, {"Content-Type": "application/json"})


def verify(key: Any, signature: str, body: bytes, header: str) -> None:
    """The signature (base64) verifies over the raw body with the key; else Unauthorized."""
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
        if isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(raw, body)
        else:
            key.verify(raw, body, padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, binascii.Error, ValueError):
        raise Unauthorized(f"{header} does not match the body") from None


def contact_draft(contact: dict[str, Any], id_key: str, source_key: str,
                  whole: dict[str, Any]) -> Draft:
    """A contact's fields as a draft: its id the event id, its source the lead's type."""
    contact_id = scalar(whole, id_key, id_key)
    if contact_id in (None, "") or isinstance(contact_id, bool):
        raise BadRequest(f"a HighLevel contact without {id_key}")
    values = {k: v for k, v in flatten(by_id(contact)).items() if v not in (None, "", [])}
    lead, used = recognize({k: v for k, v in values.items() if "." not in k})  # not location.name
    if kind := source_type(scalar(whole, source_key, source_key)):
        lead["source_type"] = kind
    return Draft(event_id=str(contact_id), lead=lead, fields=values, used=used)


def by_id(contact: dict[str, Any]) -> dict[str, Any]:
    """The contact with its customFields list ([{id, value}]) as {id: value}, so a route maps
    `customFields.<id>` whatever the order."""
    custom = contact.get("customFields")
    if not isinstance(custom, list):
        return contact
    named = {str(c["id"]): c.get("value") for c in custom
             if isinstance(c, dict) and isinstance(c.get("id"), str | int)}
    return {**contact, "customFields": named}


def source_type(source: Any) -> str:
    """The MEGA source_type HighLevel's contact source names ('' when it names none)."""
    text = str(source or "").lower()
    return next((kind for word, kind in SOURCE_TYPES if word in text), "")


def workflow_sample(tag: str) -> dict[str, Any]:
    """A workflow "Webhook" action's body with its standard contact data."""
    who = sample_contact(tag)
    return {"contact_id": f"sAmPlE{tag.rjust(8, '0')}CoNtAcT", "first_name": who["first"],
            "last_name": who["last"], "full_name": who["name"], "email": who["email"],
            "phone": who["phone"], "tags": "", "country": "US",
            "date_created": "2026-05-01T12:00:00.000Z", "contact_source": "form: Get a quote",
            "full_address": "", "contact_type": "lead",
            "location": {"name": "Acme Cleaning", "id": "ve9EPM428h8vShlRW1KT",
                         "city": "Austin", "state": "TX", "country": "US"},
            "workflow": {"id": "0b1a2f3e-4d5c-6b7a-8f9e-0d1c2b3a4f5e", "name": "New lead"},
            "triggerData": {}, "customData": {}}
