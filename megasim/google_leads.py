"""New Google lead form submissions: `POST /_google/leads` stores them where `googleAds:search`
lists them and posts the webhook Google would for each, dropping a chosen share (Google does
not retry), optionally under a webhook `lead_id` that differs from the API's `id`.
`GET /_google/leads` shows what was made and which webhooks were dropped.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
from flask import jsonify, request

from megasim.gaql import shown_time
from megasim.google import (
    DEMO_CUSTOMER_ID,
    DEMO_FORM_ID,
    GoogleState,
    _state,
    google,
)

WEBHOOK_TIMEOUT_S = 10.0
MAX_CREATE = 10_000
CAMPAIGN_ID = "23729418209"
AD_GROUP_ID = "195583084496"
QUESTION = "Which service do you need?"


@google.post("/_google/leads")
def create_submissions() -> Any:
    """{"customer_id", "form_id", "count", "submitted" (unix, default now), "gclid" (default:
    one per lead)}: new submissions; answers their ids and which webhooks were dropped."""
    state, spec = _state(), request.get_json(silent=True)
    try:
        customer, form = str(spec.get("customer_id", DEMO_CUSTOMER_ID)), str(
            spec.get("form_id", DEMO_FORM_ID))
        submitted, count = float(spec.get("submitted") or time.time()), int(spec.get("count", 1))
        if not 1 <= count <= MAX_CREATE or not form.isdigit():
            raise ValueError(f"count must be 1..{MAX_CREATE} and form_id digits")
    except (AttributeError, TypeError, ValueError) as exc:
        return jsonify({"error": f"send a JSON object: customer_id, form_id, count, submitted "
                                 f"({exc})"}), 400
    with state.lock:
        made = [new_submission(state, customer, form, submitted, spec.get("gclid"))
                for _ in range(count)]
        fate = {s["_lead_id"]: state.webhooks.rng.random() < state.webhooks.drop for s in made}
        bare = {s["_lead_id"] for s in made if state.webhooks.rng.random() <
                state.webhooks.no_gclid}
        state.dropped.extend(lead_id for lead_id, gone in fate.items() if gone)
        url, key = state.webhooks.url, state.webhooks.google_key
    failed = [s["_lead_id"] for s in made
              if url and not fate[s["_lead_id"]] and
              not post_webhook(url, key, s, gclid=s["_lead_id"] not in bare)]
    return jsonify({"leads": [{"id": s["id"], "lead_id": s["_lead_id"]} for s in made],
                    "dropped": [i for i, gone in fate.items() if gone], "webhook_url": url,
                    "webhook_failed": failed})


@google.get("/_google/leads")
def generated() -> Any:
    """Every submission made (API id, webhook lead_id, form, time) and the dropped webhooks."""
    state = _state()
    with state.lock:
        return jsonify({"leads": [{"id": s["id"], "lead_id": s["_lead_id"],
                                   "customer_id": customer, "asset": s["asset"],
                                   "submitted": s["_time"]}
                                  for customer, items in state.submissions.items()
                                  for s in items], "dropped": list(state.dropped)})


def new_submission(state: GoogleState, customer: str, form: str, submitted: float,
                   gclid: Any) -> dict[str, Any]:
    """A submission as the API lists it (answers made up, distinct per id), kept by customer."""
    number = str(state.next_id)
    state.next_id += 1
    tail = number[-4:]
    lead_id = f"TeSter-{number}-lead" if state.webhooks.distinct_ids else number
    submission = {
        "resourceName": f"customers/{customer}/leadFormSubmissionData/{number}", "id": number,
        "asset": f"customers/{customer}/assets/{form}",
        "campaign": f"customers/{customer}/campaigns/{CAMPAIGN_ID}",
        "adGroup": f"customers/{customer}/adGroups/{AD_GROUP_ID}",
        "gclid": str(gclid) if gclid else f"Cj0KCQjw-gclid-{number}",
        "submissionDateTime": shown_time(submitted, state.offset_min),
        "leadFormSubmissionFields": [
            {"fieldType": "FULL_NAME", "fieldValue": f"Google Lead {tail}"},
            {"fieldType": "EMAIL", "fieldValue": f"google+{number}@example.com"},
            {"fieldType": "PHONE_NUMBER", "fieldValue": f"+1650555{tail}"},
            {"fieldType": "POSTAL_CODE", "fieldValue": "94107"}],
        "customLeadFormSubmissionFields": [{"questionText": QUESTION,
                                            "fieldValue": "Installation"}],
        "_time": submitted, "_lead_id": lead_id}
    state.submissions.setdefault(customer, []).append(submission)
    return submission


def webhook_body(submission: dict[str, Any], google_key: str, *, gclid: bool = True
                 ) -> dict[str, Any]:
    """The lead form webhook Google posts for a submission (ids as JSON numbers), with or
    without the gclid (absent when auto-tagging is off)."""
    columns = [{"column_id": f["fieldType"], "string_value": f["fieldValue"],
                "column_name": f["fieldType"].replace("_", " ").title()}
               for f in submission["leadFormSubmissionFields"]]
    columns += [{"column_id": f"QUESTION_{n}", "string_value": f["fieldValue"],
                 "column_name": f["questionText"]}
                for n, f in enumerate(submission["customLeadFormSubmissionFields"], 1)]
    return {"lead_id": submission["_lead_id"], "user_column_data": columns, "api_version": "1.0",
            "form_id": int(submission["asset"].rsplit("/", 1)[1]),
            "campaign_id": int(submission["campaign"].rsplit("/", 1)[1]),
            "adgroup_id": int(submission["adGroup"].rsplit("/", 1)[1]),
            "creative_id": 700000000001, "google_key": google_key, "is_test": False,
            "lead_stage": "submitted", **({"gcl_id": submission["gclid"]} if gclid else {}),
            "lead_submit_time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                              time.gmtime(submission["_time"]))}


def post_webhook(url: str, google_key: str, submission: dict[str, Any], *,
                 gclid: bool = True) -> bool:
    """Post the webhook once: Google does not retry a lead form webhook."""
    body = json.dumps(webhook_body(submission, google_key, gclid=gclid)).encode()
    try:
        answer = httpx.post(url, content=body, timeout=WEBHOOK_TIMEOUT_S,
                            headers={"Content-Type": "application/json"})
    except httpx.HTTPError:
        return False
    return answer.is_success
