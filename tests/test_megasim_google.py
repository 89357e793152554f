"""megasim's Google stand-in over real HTTP: OAuth refresh, googleAds:search's checks, GAQL,
paging, Google-shaped errors and faults, and the lead generator with its webhooks."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from flask import Flask, request
from werkzeug.serving import make_server

from gateway.domain.sources.base import Inbound
from gateway.domain.sources.providers.google import GoogleLeadForms
from megasim.google import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_CUSTOMER_ID,
    DEMO_DEVELOPER_TOKEN,
    DEMO_FORM_ID,
    DEMO_MANAGER_ID,
    DEMO_REFRESH_TOKEN,
)
from tests.conftest import Sim

SEARCH = f"/google/ads/v21/customers/{DEMO_CUSTOMER_ID}/googleAds:search"
SELECT = ("SELECT lead_form_submission_data.id, lead_form_submission_data.asset, "
          "lead_form_submission_data.gclid, lead_form_submission_data.submission_date_time, "
          "lead_form_submission_data.lead_form_submission_fields, "
          "lead_form_submission_data.custom_lead_form_submission_fields "
          "FROM lead_form_submission_data")
DAY = 1_780_000_000           # a unix time; the demo account is 8 hours behind UTC
KEY = "google-key-0123456789"


def control(megasim: Sim, **change: Any) -> dict[str, Any]:
    response = megasim.http.patch("/_google", json=change)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def access_token(megasim: Sim, **form: str) -> httpx.Response:
    return megasim.http.post("/google/token", data={
        "grant_type": "refresh_token", "client_id": DEMO_CLIENT_ID,
        "client_secret": DEMO_CLIENT_SECRET, "refresh_token": DEMO_REFRESH_TOKEN, **form})


def headers(megasim: Sim, **change: str) -> dict[str, str]:
    sent = {"Authorization": f"Bearer {access_token(megasim).json()['access_token']}",
            "developer-token": DEMO_DEVELOPER_TOKEN, "login-customer-id": DEMO_MANAGER_ID}
    sent.update(change)
    return {k: v for k, v in sent.items() if v}


def failure(response: httpx.Response) -> tuple[int, str, dict[str, str]]:
    """Status, gRPC status and the first GoogleAdsError's errorCode of an error answer."""
    error = response.json()["error"]
    detail = error["details"][0]
    assert detail["@type"].endswith("google.ads.googleads.v21.errors.GoogleAdsFailure")
    return error["code"], error["status"], detail["errors"][0]["errorCode"]


def make(megasim: Sim, count: int = 1, **spec: Any) -> list[dict[str, str]]:
    response = megasim.http.post("/_google/leads", json={"count": count, **spec})
    response.raise_for_status()
    return response.json()["leads"]  # type: ignore[no-any-return]


def test_token_refresh_and_oauth_errors(megasim: Sim) -> None:
    answer = access_token(megasim)
    assert answer.status_code == 200 and answer.json()["token_type"] == "Bearer"
    assert answer.json()["expires_in"] == 3599 and answer.json()["access_token"]
    assert access_token(megasim, grant_type="password").json()["error"] == \
        "unsupported_grant_type"
    wrong = access_token(megasim, client_secret="GOCSPX-other")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    control(megasim, invalid_grant=True)
    revoked = access_token(megasim)
    assert revoked.status_code == 400 and revoked.json() == {
        "error": "invalid_grant", "error_description": "Token has been expired or revoked."}


@pytest.mark.parametrize(("change", "expected"), [
    ({"Authorization": ""}, (401, "UNAUTHENTICATED", {
        "authenticationError": "OAUTH_TOKEN_INVALID"})),
    ({"developer-token": ""}, (401, "UNAUTHENTICATED", {
        "authenticationError": "DEVELOPER_TOKEN_PARAMETER_MISSING"})),
    ({"developer-token": "unapproved-token"}, (403, "PERMISSION_DENIED", {
        "authorizationError": "DEVELOPER_TOKEN_NOT_APPROVED"})),
    ({"login-customer-id": ""}, (403, "PERMISSION_DENIED", {
        "authorizationError": "USER_PERMISSION_DENIED"})),
])
def test_search_checks_every_header(megasim: Sim, change: dict[str, str],
                                    expected: tuple[Any, ...]) -> None:
    response = megasim.http.post(SEARCH, json={"query": SELECT},
                                 headers=headers(megasim, **change))
    assert failure(response) == expected
    assert megasim.http.post(SEARCH, json={"query": SELECT},
                             headers=headers(megasim)).status_code == 200


def test_an_expired_access_token_is_unauthenticated(megasim: Sim) -> None:
    sent = headers(megasim)
    control(megasim, expire_access=True)
    response = megasim.http.post(SEARCH, json={"query": SELECT}, headers=sent)
    assert failure(response) == (401, "UNAUTHENTICATED",
                                 {"authenticationError": "OAUTH_TOKEN_EXPIRED"})


def test_gaql_window_forms_order_and_paging(megasim: Sim) -> None:
    control(megasim, page_size=2)
    early = make(megasim, 1, submitted=DAY - 3600)
    wanted = make(megasim, 3, submitted=DAY) + make(megasim, 1, submitted=DAY + 60)
    make(megasim, 1, submitted=DAY + 60, form_id="111")            # another form
    make(megasim, 1, submitted=DAY + 7200)                          # after the window
    query = (f"{SELECT} WHERE lead_form_submission_data.submission_date_time >= "
             "'2026-05-28 12:26:40' AND lead_form_submission_data.submission_date_time <= "
             "'2026-05-28 13:00:00' AND lead_form_submission_data.asset IN "
             f"('customers/{DEMO_CUSTOMER_ID}/assets/{DEMO_FORM_ID}') "
             "ORDER BY lead_form_submission_data.submission_date_time")
    sent, listed, token, pages = headers(megasim), [], "", 0
    while True:
        body = megasim.http.post(SEARCH, json={"query": query, "pageToken": token},
                                 headers=sent).json()
        pages += 1
        listed += [r["leadFormSubmissionData"] for r in body.get("results", [])]
        token = body.get("nextPageToken", "")
        if not token:
            break
    assert pages == 2 and [s["id"] for s in listed] == [s["id"] for s in wanted]
    assert early[0]["id"] not in [s["id"] for s in listed]
    first = listed[0]
    assert first["submissionDateTime"] == "2026-05-28 12:26:40-08:00"
    assert first["asset"] == f"customers/{DEMO_CUSTOMER_ID}/assets/{DEMO_FORM_ID}"
    assert first["customLeadFormSubmissionFields"] == [
        {"questionText": "Which service do you need?", "fieldValue": "Installation"}]
    assert "campaign" not in first and first["resourceName"].endswith(f"/{first['id']}")


@pytest.mark.parametrize(("query", "code"), [
    ("SELECT campaign.id FROM lead_form_submission_data", {"queryError": "UNRECOGNIZED_FIELD"}),
    ("SELECT lead_form_submission_data.id FROM campaign",
     {"queryError": "INVALID_RESOURCE_NAME"}),
    ("SELECT lead_form_submission_data.id FROM lead_form_submission_data WHERE "
     "lead_form_submission_data.gclid = 'x'", {"queryError": "PROHIBITED_FIELD_IN_WHERE_CLAUSE"}),
    ("SELECT lead_form_submission_data.id FROM lead_form_submission_data WHERE "
     "lead_form_submission_data.asset IN (42)", {"queryError": "INVALID_VALUE_WITH_IN_OPERATOR"}),
    ("SELECT lead_form_submission_data.id FROM lead_form_submission_data ORDER BY "
     "lead_form_submission_data.id", {"queryError": "INVALID_ORDER_BY_CLAUSE"}),
    ("DELETE everything", {"queryError": "UNEXPECTED_END_OF_QUERY"}),
])
def test_other_queries_are_refused_as_google_does(megasim: Sim, query: str,
                                                  code: dict[str, str]) -> None:
    response = megasim.http.post(SEARCH, json={"query": query}, headers=headers(megasim))
    assert failure(response) == (400, "INVALID_ARGUMENT", code)


def test_a_page_token_of_another_query_is_refused(megasim: Sim) -> None:
    control(megasim, page_size=1)
    make(megasim, 2, submitted=DAY)
    sent = headers(megasim)
    token = megasim.http.post(SEARCH, json={"query": SELECT}, headers=sent).json()[
        "nextPageToken"]
    other = f"{SELECT} ORDER BY lead_form_submission_data.submission_date_time DESC"
    response = megasim.http.post(SEARCH, json={"query": other, "pageToken": token},
                                 headers=sent)
    assert failure(response) == (400, "INVALID_ARGUMENT", {"requestError": "INVALID_PAGE_TOKEN"})


def test_faults_exhausted_denied_and_stuck_paging(megasim: Sim) -> None:
    sent = headers(megasim)
    control(megasim, exhausted_next=1, retry_delay_s=42)
    exhausted = megasim.http.post(SEARCH, json={"query": SELECT}, headers=sent)
    assert failure(exhausted) == (429, "RESOURCE_EXHAUSTED", {"quotaError": "RESOURCE_EXHAUSTED"})
    details = exhausted.json()["error"]["details"][0]["errors"][0]["details"]
    assert details["quotaErrorDetails"]["retryDelay"] == "42s"
    assert megasim.http.post(SEARCH, json={"query": SELECT}, headers=sent).status_code == 200
    control(megasim, denied="USER_PERMISSION_DENIED")
    assert failure(megasim.http.post(SEARCH, json={"query": SELECT}, headers=sent))[2] == {
        "authorizationError": "USER_PERMISSION_DENIED"}
    control(megasim, denied="", stuck_paging=True, page_size=1)
    make(megasim, 3, submitted=DAY)
    first = megasim.http.post(SEARCH, json={"query": SELECT}, headers=sent).json()
    again = megasim.http.post(SEARCH, json={"query": SELECT,
                                            "pageToken": first["nextPageToken"]},
                              headers=sent).json()
    assert again["nextPageToken"] == first["nextPageToken"]


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver on a real port that keeps every body it gets."""
    app, bodies = Flask("receiver"), []

    @app.post("/hook")
    def hook() -> Any:
        bodies.append(json.loads(request.get_data()))
        return {}

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", bodies
    server.shutdown()


def test_generated_leads_post_google_webhooks_and_drop_a_share(
        megasim: Sim, receiver: tuple[str, list[dict[str, Any]]]) -> None:
    url, bodies = receiver
    control(megasim, webhook={"url": url, "google_key": KEY, "drop": 0.3, "seed": 5})
    answer = megasim.http.post("/_google/leads", json={"count": 20, "submitted": DAY}).json()
    dropped = set(answer["dropped"])
    assert 0 < len(dropped) < 20 and not answer["webhook_failed"]
    assert {b["lead_id"] for b in bodies} == {s["lead_id"] for s in answer["leads"]} - dropped
    inspected = megasim.http.get("/_google/leads").json()
    assert set(inspected["dropped"]) == dropped and len(inspected["leads"]) == 20
    assert all(s["id"] == s["lead_id"] for s in answer["leads"])
    body = bodies[0]
    assert body["google_key"] == KEY and body["form_id"] == int(DEMO_FORM_ID)
    assert body["lead_submit_time"] == "2026-05-28T20:26:40Z"
    draft = GoogleLeadForms().parse(Inbound("POST", {}, {}, json.dumps(body).encode(),
                                            "application/json"), {"accept_test_leads": False})[0]
    assert draft.lead["contact_email"] == f"google+{body['lead_id']}@example.com"
    assert draft.fields["Which service do you need?"] == "Installation"


def test_api_ids_may_differ_from_webhook_lead_ids(
        megasim: Sim, receiver: tuple[str, list[dict[str, Any]]]) -> None:
    url, bodies = receiver
    control(megasim, webhook={"url": url, "google_key": KEY, "distinct_ids": True})
    made = make(megasim, 2)
    assert all(s["id"] != s["lead_id"] for s in made)
    assert [b["lead_id"] for b in bodies] == [s["lead_id"] for s in made]
