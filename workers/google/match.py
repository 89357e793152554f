"""A listed Google Ads submission as the lead its webhook would have made, and whether it is a
webhook lead already stored. Pure: no Redis, no HTTP.

Google says the webhook's `lead_id` is unique, not that it equals the API's `id`. So a listed
submission is the stored webhook lead when (1) the ids are equal; else (2) the form, the gclid
and the submission time (within 5 minutes) match; else (3) a keyed contact digest and the form
match within 5 minutes. Anything else the webhook missed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway import defaults
from gateway.domain.sources.base import Draft
from gateway.domain.sources.providers.google import GoogleSettings, lead_draft
from gateway.store.google_match import Stored

RULES = ("id", "gclid", "contact")       # in the order tried; docs/providers.md counts by these


def submitted_at(submission: dict[str, Any]) -> float | None:
    """Unix seconds of `submissionDateTime` ("2026-05-01 05:30:00-07:00"); None if unreadable."""
    text = submission.get("submissionDateTime")
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S%z").timestamp()
    except ValueError:
        return None


def tail_id(resource_name: Any) -> str:
    """The id at the end of a resource name ("customers/1/assets/42" -> "42")."""
    return str(resource_name).rsplit("/", 1)[-1] if resource_name else ""


def webhook_shape(submission: dict[str, Any]) -> dict[str, Any]:
    """The submission in the webhook's shape: field types as column_ids, custom questions by
    their text (the webhook's column_name), ids and time as the webhook sends them."""
    columns = [{"column_id": f.get("fieldType"), "string_value": f.get("fieldValue")}
               for f in submission.get("leadFormSubmissionFields") or [] if isinstance(f, dict)]
    columns += [{"column_name": f.get("questionText"), "string_value": f.get("fieldValue")}
                for f in submission.get("customLeadFormSubmissionFields") or []
                if isinstance(f, dict)]
    body: dict[str, Any] = {"lead_id": str(submission.get("id") or ""),
                            "user_column_data": columns}
    for name, source in (("form_id", "asset"), ("campaign_id", "campaign"),
                         ("adgroup_id", "adGroup")):
        if submission.get(source):
            body[name] = tail_id(submission[source])
    if submission.get("gclid"):
        body["gcl_id"] = str(submission["gclid"])
    if (at := submitted_at(submission)) is not None:
        body["lead_submit_time"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
    return body


def submission_draft(submission: dict[str, Any], settings: GoogleSettings) -> Draft:
    """The lead a listed submission makes: the webhook's own mapping, under the API's id."""
    return lead_draft(webhook_shape(submission), settings)


@dataclass(frozen=True)
class Listed:
    """What matching needs of a listed submission."""

    id: str
    form_id: str
    gclid: str
    # shortened keyed contact digests (gateway/store/google_match.py)
    digests: tuple[str, ...]
    submitted: float


@dataclass(frozen=True)
class Match:
    """A listed submission found among stored leads, and the rule that found it."""

    rule: str                         # one of RULES
    event_id: str


def listed(submission: dict[str, Any], draft: Draft,
           digest: Callable[[dict[str, Any]], Iterable[str]]) -> Listed:
    """The matching view of a submission; `digest` gives a normalized lead's contact digests."""
    return Listed(id=str(submission.get("id") or ""), form_id=tail_id(submission.get("asset")),
                  gclid=str(submission.get("gclid") or ""), digests=tuple(digest(draft.lead)),
                  submitted=submitted_at(submission) or 0.0)


def match(item: Listed, *, id_stored: bool, by_gclid: Iterable[Stored],
          by_contact: Iterable[Stored],
          window_s: float = defaults.GOOGLE_MATCH_WINDOW_S) -> Match | None:
    """The first rule a stored webhook lead meets: `by_gclid` holds those stored under the
    submission's form and gclid, `by_contact` those under one of its contact digests."""
    if id_stored:
        return Match("id", item.id)
    if item.gclid:
        for stored in by_gclid:
            if _near(item, stored, window_s):
                return Match("gclid", stored.event_id)
    for stored in by_contact:
        if _near(item, stored, window_s):
            return Match("contact", stored.event_id)
    return None


def _near(item: Listed, stored: Stored, window_s: float) -> bool:
    return bool(item.form_id) and stored.form_id == item.form_id and \
        abs(stored.submitted - item.submitted) <= window_s
