"""A listed Google submission makes the same lead as its webhook, and the three matching rules."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.domain.sources.base import Inbound
from gateway.domain.sources.providers.google import GoogleLeadForms
from megasim.google import GoogleState
from megasim.google_leads import new_submission, webhook_body
from workers.google.match import (
    Listed,
    Match,
    Stored,
    listed,
    match,
    submission_draft,
    submitted_at,
    webhook_shape,
)

SETTINGS = {"accept_test_leads": False}
DAY = 1_780_000_000


def webhook_draft(body: dict[str, Any]) -> Any:
    inbound = Inbound("POST", {}, {}, json.dumps(body).encode(), "application/json")
    return GoogleLeadForms().parse(inbound, SETTINGS)[0]


@pytest.mark.parametrize("offset_min", [-480, 0, 330])
def test_a_listed_submission_makes_the_webhooks_lead(offset_min: int) -> None:
    state = GoogleState(offset_min=offset_min)
    submission = new_submission(state, "1234567890", "349080077126", DAY, None)
    api = submission_draft(submission, SETTINGS)
    hook = webhook_draft(webhook_body(submission, "k" * 16))
    assert api.lead == hook.lead and api.used == hook.used and api.event_id == hook.event_id
    only_webhook = {"api_version", "creative_id", "lead_stage", "QUESTION_1"}
    assert api.fields == {k: v for k, v in hook.fields.items() if k not in only_webhook}
    assert api.fields["Which service do you need?"] == "Installation"
    assert api.fields["lead_submit_time"] == "2026-05-28T20:26:40Z"
    assert api.fields["form_id"] == "349080077126" and api.fields["POSTAL_CODE"] == "94107"


def test_first_and_last_names_and_work_contacts_map_as_the_webhook_does() -> None:
    submission = {"id": "77", "asset": "customers/1/assets/5", "leadFormSubmissionFields": [
        {"fieldType": "FIRST_NAME", "fieldValue": "Ana"},
        {"fieldType": "LAST_NAME", "fieldValue": "Rivera"},
        {"fieldType": "WORK_EMAIL", "fieldValue": "ana@work.example"},
        {"fieldType": "WORK_PHONE", "fieldValue": "+14155550100"}]}
    draft = submission_draft(submission, SETTINGS)
    assert draft.lead == {"contact_name": "Ana Rivera", "contact_email": "ana@work.example",
                          "contact_phone": "+14155550100"}
    assert draft.event_id == "77" and "gcl_id" not in draft.fields


def test_times_with_their_offset() -> None:
    assert submitted_at({"submissionDateTime": "2026-05-28 12:26:40-08:00"}) == DAY
    assert submitted_at({"submissionDateTime": "2026-05-29 01:56:40+05:30"}) == DAY
    assert submitted_at({"submissionDateTime": "yesterday"}) is None
    assert "lead_submit_time" not in webhook_shape({"id": "1"})


ITEM = Listed(id="900", form_id="5", gclid="Cj0-click", digests=("d-email", "d-phone"),
              submitted=DAY)


@pytest.mark.parametrize(("id_stored", "by_gclid", "by_contact", "expected"), [
    (True, [Stored("w1", "5", DAY)], [], Match("id", "900")),
    (False, [Stored("w1", "5", DAY + 299)], [Stored("w2", "5", DAY)], Match("gclid", "w1")),
    (False, [Stored("w1", "6", DAY)], [Stored("w2", "5", DAY - 300)], Match("contact", "w2")),
    (False, [Stored("w1", "5", DAY + 301)], [], None),
    (False, [], [Stored("w2", "6", DAY)], None),
    (False, [], [Stored("w2", "5", DAY + 3600)], None),
    (False, [], [], None),
])
def test_the_three_rules_in_order(id_stored: bool, by_gclid: list[Stored],
                                  by_contact: list[Stored], expected: Match | None) -> None:
    assert match(ITEM, id_stored=id_stored, by_gclid=by_gclid, by_contact=by_contact) == expected


def test_no_gclid_or_no_form_matches_nothing_by_them() -> None:
    no_gclid = Listed(id="900", form_id="5", gclid="", digests=("d",), submitted=DAY)
    assert match(no_gclid, id_stored=False, by_gclid=[Stored("w1", "5", DAY)],
                 by_contact=[]) is None
    no_form = Listed(id="900", form_id="", gclid="g", digests=("d",), submitted=DAY)
    assert match(no_form, id_stored=False, by_gclid=[Stored("w1", "", DAY)],
                 by_contact=[Stored("w2", "", DAY)]) is None


def test_listed_view_digests_the_normalized_lead() -> None:
    submission = {"id": "9", "asset": "customers/1/assets/5", "gclid": "g",
                  "submissionDateTime": "2026-05-28 20:26:40+00:00",
                  "leadFormSubmissionFields": [{"fieldType": "EMAIL", "fieldValue": "a@b.co"}]}
    view = listed(submission, submission_draft(submission, SETTINGS),
                  lambda lead: [f"digest:{lead['contact_email']}"])
    assert view == Listed("9", "5", "g", ("digest:a@b.co",), DAY)
