"""The one small interface every provider adapter implements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, fields, validate

from gateway import defaults
from gateway.domain.sources.enrichment import Enrichment


@dataclass(frozen=True)
class Inbound:
    """What arrived, independent of Flask: adapters see only this."""

    method: str
    headers: Mapping[str, str]          # case-insensitive
    query: Mapping[str, str]
    body: bytes
    mimetype: str
    url_token: str | None = None
    now: float = 0.0                    # unix seconds, passed in so tests set the clock


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
class Sample:
    """A realistic, correctly authenticated delivery of a provider (for `send-sample`)."""

    body: bytes
    headers: dict[str, str]


def sample_contact(tag: str) -> dict[str, str]:
    """A made-up contact, distinct per tag, so each sample becomes its own MEGA lead."""
    digits = f"{int(tag, 16) % 10_000:04d}" if tag else "0123"
    return {"name": f"Sample Lead {tag}".strip(), "first": "Sample", "last": f"Lead {tag}".strip(),
            "email": f"sample+{tag or 'lead'}@example.com", "phone": f"+1415555{digits}"}


CHOSEN = validate.Length(min=defaults.CHOSEN_SECRET_MIN_CHARS)   # a secret the user picks


class RouteSettings(Schema):
    """Settings every route may carry; adapters extend this schema."""

    class Meta:
        unknown = RAISE

    url_token = fields.String(validate=CHOSEN)
    default_region = fields.String(load_default=defaults.DEFAULT_REGION,
                                   validate=validate.Regexp(r"^[A-Z]{2}$"))


class ReconcileSettings(Schema):
    """A reconciling source's schedule: how often (0: off) and how young a lead is left alone."""

    reconcile_every_min = fields.Integer(load_default=defaults.RECONCILE_EVERY_MIN,
                                         validate=validate.Range(0, 24 * 60))
    reconcile_grace_s = fields.Integer(load_default=defaults.RECONCILE_GRACE_S,
                                       validate=validate.Range(0, 86_400))


class UrlTokenSettings(RouteSettings):
    """For providers that sign nothing: the secret URL token is the only credential."""

    url_token = fields.String(required=True, validate=CHOSEN)


class SecretSettings(RouteSettings):
    """For providers that sign with one shared secret they generate (an app's secret)."""

    secret = fields.String(required=True, validate=validate.Length(min=8))


class ChosenSecretSettings(RouteSettings):
    """For providers that sign with a secret the user picks when setting up the webhook."""

    secret = fields.String(required=True, validate=CHOSEN)


class Source:
    """A provider adapter: authenticate the raw request, then parse it into drafts."""

    name: ClassVar[str]
    settings_schema: ClassVar[type[Schema]] = RouteSettings
    lead_defaults: ClassVar[dict[str, str]] = {"source_type": "form"}
    success_status: ClassVar[int] = 202
    enrichment: ClassVar[Enrichment | None] = None   # run by the worker before freezing
    # its webhook leads are kept findable for reconciliation's matching
    # (gateway/store/google_match.py)
    remembered: ClassVar[bool] = False
    # its leads can be listed at the provider: reconciliation, backfill and source health
    # (implemented on the worker side, workers/capabilities.py)
    lists_leads: ClassVar[bool] = False

    def listing_needs(self, settings: dict[str, Any]) -> str:
        """What the route lacks to list its leads ('' when nothing)."""
        return "" if self.lists_leads else f"{self.name} does not list its leads"

    def authenticate(self, inbound: Inbound, settings: dict[str, Any]) -> None:
        """Raise Unauthorized unless the request is the provider's."""
        raise NotImplementedError

    def parse(self, inbound: Inbound, settings: dict[str, Any]) -> list[Draft]:
        """The drafts in an authenticated delivery; raise BadRequest or Ignored."""
        raise NotImplementedError

    def sign(self, settings: dict[str, Any], body: bytes, *, stamp: str = "",
             msg_id: str = "") -> dict[str, str]:
        """The signature headers the provider sends with body (stamp: its timestamp header,
        msg_id: its message id, for schemes that sign them). The one signer of the scheme:
        verification, samples and tests all use it. Providers that sign nothing: none."""
        return {}

    def handshake(self, inbound: Inbound, settings: dict[str, Any]) -> tuple[int, str] | None:
        """Answer a GET/HEAD check (status, text), or None when the provider has none."""
        return None

    def sample(self, settings: dict[str, Any], now: float, tag: str) -> Sample:
        """A delivery this provider would send, with ids and contact made unique by tag."""
        raise NotImplementedError


class UnsignedSource(Source):
    """A provider that signs nothing: the route's URL token, checked before any source runs,
    is the only credential."""

    settings_schema = UrlTokenSettings

    def authenticate(self, inbound: Inbound, settings: dict[str, Any]) -> None:
        """Nothing to check beyond the route's URL token."""
        return None
