"""MEGA lead rows: the schema (MEGA's BulkLeadRow) and the normalization of provider drafts."""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Callable
from typing import Any

import phonenumbers
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from gateway.domain.event import Event, new_event
from gateway.encoding import dumps
from gateway.errors import NoUsableLead
from gateway.mega.contract import (
    CONTACT_FIELDS,
    LEAD_FIELDS,
    LEAD_LINES,
    SOURCE_PLATFORMS,
    SOURCE_TYPES,
)

SCALARS = (str, int, float, bool, type(None))
SLUG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")
SPACES = re.compile(r"\s+")
ENUMS = {"source_platform": SOURCE_PLATFORMS, "source_type": SOURCE_TYPES,
         "lead_line": LEAD_LINES}
_email = validate.Email()


class ScalarMap(fields.Dict):
    """custom_fields: slug -> string | number | boolean | null."""

    def __init__(self, **kwargs: Any):
        super().__init__(keys=fields.String(validate=validate.Regexp(SLUG)),
                         values=fields.Raw(allow_none=True), **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        result = super()._deserialize(value, attr, data, **kwargs)  # type: ignore[no-untyped-call]
        if any(not isinstance(v, SCALARS) for v in result.values()):
            raise ValidationError("custom field values must be scalars")
        return result


class LeadSchema(Schema):
    """One MEGA lead row as leadgate stores and sends it (BulkLeadRow without row_ref)."""

    class Meta:
        unknown = RAISE

    contact_name = fields.String(validate=validate.Length(min=1, max=500))
    contact_phone = fields.String(validate=validate.Regexp(r"^\+[1-9]\d{6,14}$"))
    contact_email = fields.Email()
    source_platform = fields.String(validate=validate.OneOf(SOURCE_PLATFORMS))
    source_type = fields.String(validate=validate.OneOf(SOURCE_TYPES))
    stage_slug = fields.String(validate=validate.Length(min=1, max=100))
    owner_id = fields.UUID()
    lead_line = fields.String(validate=validate.OneOf(LEAD_LINES))
    custom_fields = ScalarMap()

    @validates_schema
    def _has_contact(self, data: dict[str, Any], partial: Any = None, **_: Any) -> None:
        if not partial and not any(data.get(f) for f in CONTACT_FIELDS):
            raise ValidationError("at least one of contact_name, contact_phone, contact_email "
                                  "is required", "_schema")


LEAD_SCHEMA = LeadSchema()      # built once: a schema's construction costs more than a load
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def _uuid(value: Any) -> bool:
    try:
        uuid.UUID(value)
    except (TypeError, ValueError, AttributeError):
        return False
    return True


# What LeadSchema accepts, checked directly: a row built by normalize() (its emails already
# validated there) passes here without marshmallow's cost; anything else goes through the
# schema, which decides and words the 422.
PLAIN: dict[str, Callable[[Any], bool]] = {
    "contact_name": lambda v: isinstance(v, str) and 1 <= len(v) <= 500,
    "contact_phone": lambda v: isinstance(v, str) and E164.match(v) is not None,
    "contact_email": lambda v: isinstance(v, str) and "@" in v,
    "stage_slug": lambda v: isinstance(v, str) and 1 <= len(v) <= 100,
    "owner_id": _uuid,
    "custom_fields": lambda v: isinstance(v, dict) and all(
        isinstance(k, str) and SLUG.match(k) and isinstance(x, SCALARS) for k, x in v.items()),
    **{name: allowed.__contains__ for name, allowed in ENUMS.items()},
}


def check_lead(lead: dict[str, Any]) -> dict[str, Any]:
    """The row as LEAD_SCHEMA loads it (owner_id as text); NoUsableLead with its messages."""
    if any(lead.get(f) for f in CONTACT_FIELDS) and all(
            name in PLAIN and PLAIN[name](value) for name, value in lead.items()):
        if "owner_id" in lead:
            lead["owner_id"] = str(uuid.UUID(lead["owner_id"]))
        return lead
    try:
        lead = LEAD_SCHEMA.load(lead)
    except ValidationError as exc:
        raise NoUsableLead("no usable lead: " + "; ".join(_messages(exc.messages)),
                           details=exc.messages) from None
    if "owner_id" in lead:
        lead["owner_id"] = str(lead["owner_id"])
    return lead


def check_field_target(target: str) -> str:
    """Why a `[routes.X.fields]` target is not usable, or '' when it is."""
    if target.startswith("custom_fields."):
        return "" if SLUG.match(target.partition(".")[2]) else f"bad custom field slug: {target}"
    if target in LEAD_FIELDS and target != "custom_fields":
        return ""
    return (f"unknown MEGA field '{target}' (one of {', '.join(LEAD_FIELDS[:-1])}, "
            f"or custom_fields.<slug>)")


def build_lead(*, defaults: dict[str, Any], static: dict[str, Any], found: dict[str, Any],
               provider_fields: dict[str, Any], field_map: dict[str, str], used: set[str],
               region: str) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """Merge a draft into one MEGA row: (lead, warnings, unmapped provider fields).

    Precedence, lowest first: the source's defaults, the route's [lead] table, what the
    adapter recognised itself, the route's [fields] map.
    """
    custom: dict[str, Any] = {**static.get("custom_fields", {}),
                              **found.get("custom_fields", {})}
    raw: dict[str, Any] = {**defaults, **static, **found}
    for source, target in field_map.items():
        value = provider_fields.get(source)
        if value is None or value == "":
            continue
        if target.startswith("custom_fields."):
            custom[target.partition(".")[2]] = value
        else:
            raw[target] = value
    raw["custom_fields"] = custom
    lead, warnings = normalize(raw, region)
    for name, value in {**defaults, **static}.items():   # validated at start-up
        lead.setdefault(name, value)
    unmapped = {k: v for k, v in provider_fields.items() if k not in used and k not in field_map}
    return check_lead(lead), warnings, unmapped


def lead_record(route: Any, defaults: dict[str, Any], draft: Any) -> dict[str, str]:
    """The stored form of a draft's lead for a route: lead, warnings and unmapped as JSON."""
    lead, warnings, unmapped = build_lead(
        defaults=defaults, static=route.lead, found=draft.lead, provider_fields=draft.fields,
        field_map=route.fields, used=draft.used, region=route.settings.default_region)
    return {"lead": dumps(lead, sort_keys=True), "warnings": dumps(warnings),
            "unmapped": dumps(unmapped)}


def normalize(raw: dict[str, Any], region: str) -> tuple[dict[str, Any], list[str]]:
    """Clean each field; what cannot be used is dropped with a warning (no values in it)."""
    lead: dict[str, Any] = {}
    warnings: list[str] = []
    for name, value in raw.items():
        if name == "custom_fields":
            continue
        cleaned, problem = _clean(name, value, region)
        if problem:
            warnings.append(f"{name} dropped: {problem}")
        elif cleaned not in (None, ""):
            lead[name] = cleaned
    custom = {}
    for slug, value in raw.get("custom_fields", {}).items():
        if isinstance(value, list) and all(isinstance(v, SCALARS) for v in value):
            value = ", ".join(str(v) for v in value if v is not None)
        if isinstance(value, str):
            value = value.strip()
        if not isinstance(value, SCALARS) or not SLUG.match(str(slug)):
            warnings.append(f"custom_fields.{slug} dropped: not a scalar or not a valid slug")
        else:
            custom[str(slug)] = value
    if custom:
        lead["custom_fields"] = custom
    return lead, warnings


def _clean(name: str, value: Any, region: str) -> tuple[Any, str]:
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None, "" if value is None else "not a text value"
    text = SPACES.sub(" ", str(value)).strip()
    if not text:
        return None, ""
    if name == "contact_email":
        return _clean_email(text)
    if name == "contact_phone":
        return _clean_phone(text, region)
    if name in ENUMS:
        text = text.lower()
        return (text, "") if text in ENUMS[name] else (None, f"not one of {ENUMS[name]}")
    return text, ""


def _clean_email(text: str) -> tuple[str | None, str]:
    text = text.lower()
    try:
        _email(text)
    except ValidationError:
        return None, "not a valid email address"
    return text, ""


def _clean_phone(text: str, region: str) -> tuple[str | None, str]:
    if E164.match(text) and (already := _e164(text)):
        return already, ""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None, "not a phone number"
    if not phonenumbers.is_possible_number(number):
        return None, "not a possible phone number"
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), ""


def _e164(text: str) -> str | None:
    """text, when it is a possible E.164 number that a full parse would keep exactly as it is
    (a fifth of the parse's cost); None: parse it."""
    for size in (1, 2, 3):
        if (code := int(text[1:1 + size])) in COUNTRY_CODE_TO_REGION_CODE:
            break
    else:
        return None
    prefix, national = _national_prefix(code), text[1 + size:]
    if prefix is None or national[0] == "0" or prefix.match(national):
        return None           # a leading zero or a national prefix: the parse decides
    number = phonenumbers.PhoneNumber(country_code=code, national_number=int(national))
    return text if phonenumbers.is_possible_number(number) else None


@functools.cache
def _national_prefix(code: int) -> re.Pattern[str] | None:
    """What a parse strips from a calling code's national numbers (never-matching if nothing);
    None for codes without a region (+800...), which always take the full parse."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region(
        phonenumbers.region_code_for_country_code(code))
    if metadata is None:
        return None
    return re.compile(metadata.national_prefix_for_parsing or r"(?!)")


def _messages(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        return [m for k, v in messages.items()
                for m in _messages(v, prefix if k == "_schema" else f"{prefix}{k}: ")]
    if isinstance(messages, list):
        return [m for v in messages for m in _messages(v, prefix)]
    return [f"{prefix}{messages}"]


def draft_event(route: Any, source: Any, draft: Any, now: float) -> Event:
    """A source's draft as a new event of the route (its lead normalized, unless the source's
    enrichment step completes it later); NoUsableLead if it has no usable lead."""
    lead = {"enrich": draft.enrich, "fields": json.dumps(draft.fields)} if draft.enrich \
        else lead_record(route, source.lead_defaults, draft)
    return new_event(customer=route.customer, route=route.name, source=route.source,
                     provider_id=draft.event_id, received_at_ms=int(now * 1000),
                     test=draft.test, **lead)
