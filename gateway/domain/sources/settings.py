"""A route's own settings: each source's marshmallow schema (the validator, keys as users
write them) and the frozen dataclass it is loaded into (what the source reads)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Self, TypeVar

from marshmallow import RAISE, Schema, validate
from marshmallow import fields as mf

from gateway import defaults
from gateway.errors import Ignored

CHOSEN = validate.Length(min=defaults.CHOSEN_SECRET_MIN_CHARS)   # a secret the user picks


class Narrowing:
    """`Kind.of(route.settings)`: a route's settings as the class its source's code reads."""

    @classmethod
    def of(cls, settings: object) -> Self:
        """settings as this class; a TypeError when the route is not of that source."""
        if not isinstance(settings, cls):
            raise TypeError(f"{type(settings).__name__} is not {cls.__name__}")
        return settings


@dataclass(frozen=True, kw_only=True)
class RouteSettings(Narrowing):
    """Settings every route may carry (absent optional text: ''); sources extend it."""

    url_token: str | None = None          # None: the route takes no token in its path
    default_region: str = defaults.DEFAULT_REGION


@dataclass(frozen=True, kw_only=True)
class ReconcileSettings(Narrowing):
    """A reconciling source's schedule: how often (0: off) and how young a lead is left alone."""

    reconcile_every_min: int = defaults.RECONCILE_EVERY_MIN
    reconcile_grace_s: int = defaults.RECONCILE_GRACE_S


@dataclass(frozen=True, kw_only=True)
class UrlTokenSettings(RouteSettings):
    """For providers that sign nothing: the secret URL token is the only credential."""

    url_token: str


@dataclass(frozen=True, kw_only=True)
class SecretSettings(RouteSettings):
    """For providers that sign with one shared secret."""

    secret: str


@dataclass(frozen=True, kw_only=True)
class CallSettings:
    """A call or message source's filters: shorter calls (0: none), only first contacts."""

    min_duration_s: int = 0
    first_contact_only: bool = False

    def screen(self, *, duration_s: float | None = None,
               first_contact: bool | None = None) -> None:
        """Ignored (counted as such) when the route skips this call or message: shorter than
        min_duration_s, or not a first contact under first_contact_only. A delivery that does
        not say (no duration, no first-contact flag) is kept."""
        if duration_s is not None and duration_s < self.min_duration_s:
            raise Ignored(f"call shorter than min_duration_s ({self.min_duration_s} s)")
        if self.first_contact_only and first_contact is False:
            raise Ignored("not a first contact (first_contact_only)")


T = TypeVar("T", bound=RouteSettings)


def build(kind: type[T], loaded: Mapping[str, Any]) -> T:
    """The typed settings from what the schema loaded (lists become tuples: frozen)."""
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v
                              for k, v in loaded.items()}
    return kind(**values)


def keys_of(kind: type[RouteSettings]) -> set[str]:
    """The keys a settings class holds (its schema must load exactly these)."""
    return {f.name for f in fields(kind)}


class RouteSchema(Schema):
    """The schema of RouteSettings; sources' schemas extend it."""

    class Meta:
        unknown = RAISE

    url_token = mf.String(validate=CHOSEN)
    default_region = mf.String(load_default=defaults.DEFAULT_REGION,
                               validate=validate.Regexp(r"^[A-Z]{2}$"))


class ReconcileSchema(Schema):
    """The schema of ReconcileSettings."""

    reconcile_every_min = mf.Integer(load_default=defaults.RECONCILE_EVERY_MIN,
                                     validate=validate.Range(0, 24 * 60))
    reconcile_grace_s = mf.Integer(load_default=defaults.RECONCILE_GRACE_S,
                                   validate=validate.Range(0, 86_400))


class UrlTokenSchema(RouteSchema):
    """The schema of UrlTokenSettings: the URL token is required."""

    url_token = mf.String(required=True, validate=CHOSEN)


class SecretSchema(RouteSchema):
    """SecretSettings where the provider generates the secret (an app's secret)."""

    secret = mf.String(required=True, validate=validate.Length(min=8))


class ChosenSecretSchema(RouteSchema):
    """SecretSettings where the user picks the secret when setting up the webhook."""

    secret = mf.String(required=True, validate=CHOSEN)


class MinDurationSchema(Schema):
    """CallSettings.min_duration_s: calls shorter than this are ignored (0: none are)."""

    min_duration_s = mf.Integer(load_default=0, validate=validate.Range(0, 86_400))


class FirstContactSchema(Schema):
    """CallSettings.first_contact_only, where the provider flags a first contact."""

    first_contact_only = mf.Boolean(load_default=False)
