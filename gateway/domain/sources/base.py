"""The one small interface every provider adapter implements."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Protocol, TypeVar, overload

from marshmallow import Schema

from gateway.domain.sources.enrichment import Enrichment
from gateway.domain.sources.settings import (
    RouteSchema,
    RouteSettings,
    UrlTokenSchema,
    UrlTokenSettings,
    build,
)
from gateway.encoding import dumps

S = TypeVar("S", bound=RouteSettings)


class Headers(Protocol):
    """A request's headers, read by name case-insensitively (werkzeug's; a dict in tests)."""

    @overload
    def get(self, key: str, /) -> str | None: ...

    @overload
    def get(self, key: str, default: str, /) -> str: ...


@dataclass(frozen=True)
class Inbound:
    """What arrived, independent of Flask: adapters see only this."""

    method: str
    headers: Headers                    # case-insensitive
    query: Mapping[str, str]
    body: bytes
    mimetype: str
    url_token: str | None = None
    now: float = 0.0                    # unix seconds, passed in so tests set the clock
    url: str = ""                       # the URL as this server received it (for signed URLs)


@dataclass
class Draft:
    """One lead (or lead reference) found in a delivery."""

    event_id: str                                              # the provider's id for it
    lead: dict[str, Any] = field(default_factory=dict)         # MEGA fields recognised
    fields: dict[str, Any] = field(default_factory=dict)       # provider fields, by their names
    used: set[str] = field(default_factory=set)                # fields turned into `lead`
    enrich: str = ""                    # non-empty: the worker fetches the lead data ("meta")
    test: bool = False                  # a provider test lead: recorded, not delivered


@dataclass(frozen=True)
class Outcome:
    """What became of an authenticated delivery, for its source to answer."""

    accepted: int = 0
    duplicates: int = 0
    events: tuple[str, ...] = ()
    ignored: str = ""                   # why the delivery carries no lead ('' when it did)


@dataclass(frozen=True)
class Answer:
    """The HTTP answer a source gives its provider: status, body and content type."""

    status: int
    body: bytes
    mimetype: str = "application/json"


@dataclass(frozen=True)
class Sample:
    """A realistic, correctly authenticated delivery of a provider (for `send-sample`)."""

    body: bytes
    headers: dict[str, str]


def sample_contact(tag: str) -> dict[str, str]:
    """A made-up contact, distinct per tag, so each sample becomes its own MEGA lead."""
    digits = f"{int(tag, 16) % 10_000:04d}" if tag else "0123"
    return {"name": f"Sample Lead {tag}".strip(), "first": "Sample", "last": f"Lead {tag}".strip(),
            "email": f"sample+{tag or 'lead'}@example.com", "phone": f"+1415555{digits}"}


class Source(Generic[S]):
    """A provider adapter: authenticate the raw request, parse it into drafts, answer."""

    name: ClassVar[str]
    settings_schema: ClassVar[type[Schema]] = RouteSchema   # validates the route's own keys
    settings_type: type[S]                                    # what they are loaded into
    lead_defaults: ClassVar[dict[str, str]] = {"source_type": "form"}
    success_status: ClassVar[int] = 202
    enrichment: ClassVar[Enrichment | None] = None   # run by the worker before freezing
    # one lead may come under two ids (webhook and listing): a twin check runs on the one
    # ingest path (gateway/domain/sources/twins.py; its webhook side: gateway/ingest.py TWINS)
    remembered: ClassVar[bool] = False
    # its leads can be listed at the provider: reconciliation, backfill and source health
    # (implemented on the worker side, workers/capabilities.py)
    lists_leads: ClassVar[bool] = False

    def load_settings(self, raw: Mapping[str, Any]) -> S:
        """The route's own keys, validated (marshmallow's ValidationError) and typed."""
        return build(self.settings_type, self.settings_schema().load(raw))

    def listing_needs(self, settings: S) -> str:
        """What the route lacks to list its leads ('' when nothing)."""
        return "" if self.lists_leads else f"{self.name} does not list its leads"

    def authenticate(self, inbound: Inbound, settings: S) -> None:
        """Raise Unauthorized unless the request is the provider's."""
        raise NotImplementedError

    def parse(self, inbound: Inbound, settings: S) -> list[Draft]:
        """The drafts in an authenticated delivery; raise BadRequest or Ignored."""
        raise NotImplementedError

    def sign(self, settings: S, body: bytes, *, stamp: str = "",
             msg_id: str = "") -> dict[str, str]:
        """The signature headers the provider sends with body (stamp: its timestamp header,
        msg_id: its message id, for schemes that sign them). The one signer of the scheme:
        verification, samples and tests all use it. Providers that sign nothing: none."""
        return {}

    def answer(self, outcome: Outcome, inbound: Inbound, settings: S) -> Answer:
        """The answer the provider counts as success: by default leadgate's JSON (status
        success_status when a lead was accepted, else 200)."""
        if outcome.ignored:
            return Answer(200, _flask_json({"accepted": 0, "duplicates": 0, "events": [],
                                            "ignored": outcome.ignored}))
        status = self.success_status if outcome.accepted else 200
        return Answer(status, json_bytes({"accepted": outcome.accepted,
                                          "duplicates": outcome.duplicates,
                                          "events": list(outcome.events)}))

    def handshake(self, inbound: Inbound, settings: S) -> tuple[int, str] | None:
        """Answer a GET/HEAD check (status, text), or None when the provider has none."""
        return None

    def sample(self, settings: S, now: float, tag: str) -> Sample:
        """A delivery this provider would send, with ids and contact made unique by tag."""
        raise NotImplementedError


def json_bytes(value: Any) -> bytes:
    """Compact JSON, as leadgate writes it per webhook."""
    return dumps(value).encode()


def _flask_json(value: Any) -> bytes:
    """JSON as Flask's jsonify writes it (sorted, ASCII, a final newline): the bytes the
    ignored answer has always had."""
    return (json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n").encode()


class UnsignedSource(Source[UrlTokenSettings]):
    """A provider that signs nothing: the route's URL token, checked before any source runs,
    is the only credential."""

    settings_schema = UrlTokenSchema
    settings_type = UrlTokenSettings

    def authenticate(self, inbound: Inbound, settings: UrlTokenSettings) -> None:
        """Nothing to check beyond the route's URL token."""
        return None
