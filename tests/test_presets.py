"""The documented presets of the generic route (docs/presets/): each loads, and a realistic
delivery of its platform becomes the right MEGA row."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import ACME_ID, Sim

PRESETS = Path(__file__).resolve().parents[1] / "docs" / "presets"
TOKEN = "preset-url-token-0123456789"
ANA = ("Ana Rivera", "ana@example.com", "+14155550123")
# (preset, its route, content type, body, platform, a custom field it maps)
CASES = [
    ("zoho", "acme-zoho", "application/x-www-form-urlencoded", urlencode({
        "id": "5725767000000524001", "First_Name": "Ana", "Last_Name": "Rivera",
        "Email": "ana@example.com", "Phone": "+14155550123", "Lead_Source": "Web Form",
        "Description": "Deep clean, 3 bedrooms"}).encode(), "zoho", ("lead_source", "Web Form")),
    ("salesforce", "acme-salesforce", "application/json", json.dumps({
        "Id": "00Q5e00000ABCdeEAF", "FirstName": "Ana", "LastName": "Rivera",
        "Email": "ana@example.com", "MobilePhone": "+14155550123", "LeadSource": "Web",
        "Company": "Rivera Household"}).encode(), "salesforce", ("lead_source", "Web")),
    ("zenmaid", "acme-zenmaid", "application/json", json.dumps({
        "id": "8f2a1b9c", "first_name": "Ana", "last_name": "Rivera",
        "email": "ana@example.com", "phone": "+14155550123", "type": "lead",
        "notes": "2 bed 2 bath, biweekly"}).encode(), "zenmaid",
     ("service_notes", "2 bed 2 bath, biweekly")),
    ("lead_docket", "acme-lead-docket", "application/json", json.dumps({
        "Id": 48213, "FirstName": "Ana", "LastName": "Rivera", "Email": "ana@example.com",
        "MobilePhone": "+14155550123", "CaseType": "Personal Injury", "Status": "Lead"}).encode(),
     "lead_docket", ("case_type", "Personal Injury")),
]


@pytest.mark.parametrize(("preset", "route", "content_type", "body", "platform", "custom"),
                         CASES, ids=[c[0] for c in CASES])
def test_preset_loads_and_maps_its_platforms_delivery(
        config_dict: dict[str, Any], redis_server: Any, redis_client: Any, drain_factory: Any,
        megasim: Sim, preset: str, route: str, content_type: str, body: bytes, platform: str,
        custom: tuple[str, str]) -> None:
    from gateway.config import config_from_dict
    from gateway.web.app import create_app

    snippet = tomllib.loads((PRESETS / f"{preset}.toml").read_text())["routes"][route]
    token_var = snippet["url_token"].strip("${}")
    config_dict["routes"][route] = snippet
    config = config_from_dict(config_dict, env={"REDIS_URL": redis_server.url, token_var: TOKEN})
    client = create_app(config).test_client()
    answers = [client.post(f"/hooks/{route}/{TOKEN}", data=body,
                           headers={"Content-Type": content_type}) for _ in range(2)]
    assert [a.get_json()["accepted"] for a in answers] == [1, 0]      # a resend: a duplicate
    drain_factory(config)()
    (lead,) = megasim.leads(ACME_ID)
    assert (lead["contact_name"], lead["contact_email"], lead["contact_phone"]) == ANA
    assert (lead["source_platform"], lead["source_type"]) == (platform, "form")
    assert lead["custom_fields"][custom[0]] == custom[1]
