"""Lead normalization: the MEGA row built from a draft, field maps, warnings."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.errors import NoUsableLead
from gateway.leads import build_lead


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
