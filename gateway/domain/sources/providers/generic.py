"""`generic`: any JSON or form post, authenticated by URL token or an HMAC-SHA256 header."""

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
from gateway.domain.sources.recognize import Budget, flatten, recognize
from gateway.domain.sources.settings import (
    CHOSEN,
    RouteSchema,
    RouteSettings,
)
from gateway.domain.sources.signatures import (
    digest,
    matches_any,
    parse_form,
    parse_json,
    require_header,
    stable_hash,
)
from gateway.errors import BadRequest, Unauthorized, UnsupportedMediaType

MAX_ITEMS = 1000


class GenericSchema(RouteSchema):
    """A generic route's settings: optional HMAC secret, header and encoding, event id path."""

    hmac_secret = fields.String(validate=CHOSEN)
    hmac_header = fields.String(load_default="X-Signature")
    hmac_encoding = fields.String(load_default="hex", validate=validate.OneOf(("hex", "base64")))
    event_id = fields.String(validate=validate.Length(min=1))

    @validates_schema
    def _authenticated(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("url_token") and not data.get("hmac_secret"):
            raise ValidationError("a generic route needs url_token or hmac_secret",
                                  "url_token")


@dataclass(frozen=True, kw_only=True)
class GenericSettings(RouteSettings):
    """A generic route's optional HMAC check and where its event id is read."""

    hmac_secret: str = ""                 # '': no HMAC (the URL token authenticates)
    hmac_header: str = "X-Signature"
    hmac_encoding: str = "hex"            # hex | base64
    event_id: str = ""                    # a dotted path into the JSON; '': a content hash


class Generic(Source[GenericSettings]):
    """Any JSON or form poster, authenticated by URL token or HMAC signature."""

    name = "generic"
    settings_schema = GenericSchema
    settings_type = GenericSettings

    def sign(self, settings: GenericSettings, body: bytes, *, stamp: str = "",
             msg_id: str = "") -> dict[str, str]:
        """The HMAC header a sender would add (none without a secret)."""
        if not settings.hmac_secret:
            return {}
        return {settings.hmac_header: "sha256=" + digest(
            settings.hmac_secret, body, encoding=settings.hmac_encoding)}

    def authenticate(self, inbound: Inbound, settings: GenericSettings) -> None:
        """Check the configured HMAC header, if the route has a secret."""
        if not settings.hmac_secret:
            return
        header = settings.hmac_header
        given = require_header(inbound.headers, header)
        given = "sha256=" + (given[7:] if given.lower().startswith("sha256=") else given)
        expected = self.sign(settings, inbound.body)[header]
        if not matches_any(expected, [given], fold_case=settings.hmac_encoding == "hex"):
            raise Unauthorized(f"{header} does not match the body")

    def parse(self, inbound: Inbound, settings: GenericSettings) -> list[Draft]:
        """A JSON object or a list of them (bounded), each one lead draft."""
        body = parse_body(inbound)
        items = body if isinstance(body, list) else [body]
        if not items or len(items) > MAX_ITEMS or not all(isinstance(i, dict) for i in items):
            raise BadRequest(f"body must be an object or a list of 1 to {MAX_ITEMS} objects")
        budget = Budget.for_body(len(inbound.body))
        return [json_draft(item, settings.event_id, budget) for item in items]


    def sample(self, settings: GenericSettings, now: float, tag: str) -> Sample:
        """A test delivery as a form would post it."""
        who = sample_contact(tag)
        item: dict[str, Any] = {"name": who["name"], "email": who["email"],
                                "phone": who["phone"], "message": "Please call me back"}
        if settings.event_id:        # put a unique id where the route reads it
            *parents, last = settings.event_id.split(".")
            node = item
            for part in parents:
                node = node.setdefault(part, {})
            node[last] = f"sample-{tag}"
        body = json.dumps(item).encode()
        return Sample(body, {"Content-Type": "application/json", **self.sign(settings, body)})


def parse_body(inbound: Inbound) -> Any:
    """JSON or urlencoded form, by Content-Type."""
    if inbound.mimetype == "application/json" or inbound.mimetype.endswith("+json"):
        return parse_json(inbound.body)
    if inbound.mimetype == "application/x-www-form-urlencoded":
        return parse_form(inbound.body)
    raise UnsupportedMediaType("send application/json or application/x-www-form-urlencoded")


def json_draft(item: dict[str, Any], id_path: str | None, budget: Budget | None = None
               ) -> Draft:
    """A draft from one JSON object: fields by dotted path, contacts recognised by name."""
    flat = flatten(item, budget)
    if id_path:
        event_id = flat.get(id_path)
        if event_id in (None, "") or isinstance(event_id, dict | list):
            raise BadRequest(f"no event id at '{id_path}'")
        event_id = str(event_id)
    else:
        event_id = stable_hash(item)
    lead, used = recognize(flat)
    return Draft(event_id=event_id, lead=lead, fields=flat, used=used)
