"""Lead normalization: the MEGA row built from a draft, field maps, warnings."""

from __future__ import annotations

from typing import Any

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from gateway.domain.leads import _clean_phone, build_lead
from gateway.errors import NoUsableLead


def build(found: dict[str, Any], *, fields: dict[str, Any] | None = None,
          field_map: dict[str, str] | None = None, static: dict[str, Any] | None = None,
          region: str = "US") -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    return build_lead(defaults={"source_type": "form"}, static=static or {}, found=found,
                      provider_fields=fields or {}, field_map=field_map or {}, used=set(),
                      region=region)


@pytest.mark.parametrize(("phone", "region", "expected"), [
    ("(206) 555-0123", "US", "+12065550123"),
    ("+1 206-555-0123", "US", "+12065550123"),
    (2065550123, "US", "+12065550123"),
    ("020 7946 0018", "GB", "+442079460018"),
    ("+44 20 7946 0018", "US", "+442079460018"),
])
def test_phones_become_e164(phone: Any, region: str, expected: str) -> None:
    lead, warnings, _ = build({"contact_phone": phone}, region=region)
    assert lead["contact_phone"] == expected and warnings == []


def test_unusable_phone_is_dropped_with_a_warning_not_a_failure() -> None:
    lead, warnings, _ = build({"contact_name": "Ann", "contact_phone": "call me"})
    assert "contact_phone" not in lead
    assert warnings == ["contact_phone dropped: not a phone number"]


def test_email_lowercased_and_invalid_dropped() -> None:
    assert build({"contact_email": " Ann@Example.COM "})[0]["contact_email"] == "ann@example.com"
    lead, warnings, _ = build({"contact_name": "Ann", "contact_email": "nope"})
    assert "contact_email" not in lead and "not a valid email" in warnings[0]


def test_no_contact_is_unusable() -> None:
    with pytest.raises(NoUsableLead, match="at least one of"):
        build({"contact_email": "nope"}, static={"source_platform": "direct"})


def test_precedence_and_field_map() -> None:
    lead, _, unmapped = build(
        {"contact_name": "Found"},
        fields={"full": "Mapped Name", "budget": 500000, "tags": ["a", "b"], "other": "x"},
        field_map={"full": "contact_name", "budget": "custom_fields.budget",
                   "tags": "custom_fields.tags"},
        static={"source_platform": "meta_ads", "source_type": "chat",
                "custom_fields": {"campaign": "spring"}})
    assert lead == {"contact_name": "Mapped Name", "source_platform": "meta_ads",
                    "source_type": "chat",
                    "custom_fields": {"campaign": "spring", "budget": 500000, "tags": "a, b"}}
    assert unmapped == {"other": "x"}


def test_enums_are_case_folded_or_dropped() -> None:
    lead, warnings, _ = build({"contact_name": "A", "lead_line": "Buyer",
                               "source_type": "carrier pigeon"})
    assert lead["lead_line"] == "buyer"
    assert lead["source_type"] == "form"     # the unusable value falls back to the default
    assert warnings == ["source_type dropped: not one of ('form', 'phone_call', 'email', "
                        "'chat', 'sms', 'manual', 'import')"]


def test_bad_mapped_enum_is_dropped_with_warning() -> None:
    lead, warnings, _ = build({"contact_name": "A"}, fields={"line": "renter"},
                              field_map={"line": "lead_line"})
    assert "lead_line" not in lead and warnings[0].startswith("lead_line dropped")


def test_non_scalar_custom_field_dropped() -> None:
    lead, warnings, _ = build({"contact_name": "A"}, fields={"x": {"nested": 1}},
                              field_map={"x": "custom_fields.x"})
    assert "custom_fields" not in lead and "custom_fields.x dropped" in warnings[0]


OWNER = "0b8d2f7e-1c3a-4d5b-9e6f-7a8b9c0d1e2f"


@pytest.mark.parametrize("lead", [
    {"contact_name": "Ann"},
    {"contact_email": "ann@example.com", "source_type": "form", "source_platform": "direct"},
    {"contact_phone": "+12065550123", "stage_slug": "new", "lead_line": "buyer",
     "owner_id": OWNER.upper(), "custom_fields": {"budget": 5, "ok": True, "none": None}},
    {"contact_name": "x" * 501},
    {"contact_name": ""},
    {"contact_phone": "2065550123"},
    {"contact_email": "not an email"},
    {"source_type": "form"},
    {"contact_name": "Ann", "stage_slug": "s" * 101},
    {"contact_name": "Ann", "owner_id": "not-a-uuid"},
    {"contact_name": "Ann", "source_platform": "myspace"},
    {"contact_name": "Ann", "custom_fields": {"bad slug!": 1}},
    {"contact_name": "Ann", "custom_fields": {"list": [1]}},
    {"contact_name": "Ann", "fax": "1"},
    {"contact_name": 5},
])
def test_the_fast_check_agrees_with_the_schema(lead: dict[str, Any]) -> None:
    """check_lead skips marshmallow for plainly valid rows: never accepting what the schema
    refuses, and giving the schema's answer otherwise."""
    from marshmallow import ValidationError

    from gateway.domain.leads import LEAD_SCHEMA, check_lead

    try:
        expected: Any = LEAD_SCHEMA.load(dict(lead))
        expected = {**expected, **({"owner_id": str(expected["owner_id"])}
                                   if "owner_id" in expected else {})}
    except ValidationError:
        expected = NoUsableLead
    try:
        got: Any = check_lead(dict(lead))
    except NoUsableLead:
        got = NoUsableLead
    assert got == expected


@settings(max_examples=500, deadline=None)
@given(code=st.sampled_from(sorted(COUNTRY_CODE_TO_REGION_CODE)),
       national=st.text("0123456789", min_size=1, max_size=14))
def test_the_e164_shortcut_agrees_with_a_full_parse(code: int, national: str) -> None:
    text = f"+{code}{national}"
    try:
        number = phonenumbers.parse(text, "US")
        full = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) \
            if phonenumbers.is_possible_number(number) else None
    except phonenumbers.NumberParseException:
        full = None
    assert _clean_phone(text, "US")[0] == full
