"""A stand-in for the part of Google leadgate calls: the OAuth token endpoint and the Google Ads
API's `googleAds:search` over `lead_form_submission_data` (new submissions and their webhooks:
megasim/google_leads.py).

Checks what Google checks (a live access token, the developer token, `login-customer-id` for an
account reached through a manager, the GAQL), pages by `nextPageToken`, and answers errors in
Google's shapes. Control under /_google: credentials, page size and faults (`invalid_grant`,
`PERMISSION_DENIED`, `RESOURCE_EXHAUSTED`, expired access tokens, a page token that repeats).
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from megasim import gaql

DEMO_CUSTOMER_ID = "1234567890"
DEMO_MANAGER_ID = "9876543210"
DEMO_DEVELOPER_TOKEN = "demo-developer-token-0123"
DEMO_CLIENT_ID = "000000000042-demo.apps.googleusercontent.com"
DEMO_CLIENT_SECRET = "GOCSPX-demo-client-secret"
DEMO_REFRESH_TOKEN = "1//0demo-refresh-token-for-megasim"
DEMO_FORM_ID = "349080077126"
API_VERSION = "v21"
FAILURE_TYPE = f"type.googleapis.com/google.ads.googleads.{API_VERSION}.errors.GoogleAdsFailure"
google = Blueprint("google_standin", __name__)


@dataclass
class GoogleWebhooks:
    """Where new submissions' webhooks go, the share dropped, and whether API ids differ."""

    url: str = ""
    google_key: str = ""
    drop: float = 0.0
    distinct_ids: bool = False
    no_gclid: float = 0.0              # share of webhooks sent without gcl_id
    rng: random.Random = field(default_factory=lambda: random.Random(0))


@dataclass
class GoogleState:
    clients: dict[str, str] = field(default_factory=lambda: {DEMO_CLIENT_ID: DEMO_CLIENT_SECRET})
    refresh_tokens: set[str] = field(default_factory=lambda: {DEMO_REFRESH_TOKEN})
    developer_tokens: set[str] = field(default_factory=lambda: {DEMO_DEVELOPER_TOKEN})
    managers: dict[str, str] = field(default_factory=lambda: {DEMO_CUSTOMER_ID: DEMO_MANAGER_ID})
    access: dict[str, float] = field(default_factory=dict)        # access token -> expiry
    token_ttl_s: int = 3599
    offset_min: int = -480             # the accounts' time zone, minutes from UTC
    page_size: int = 1000              # results per page (Google's is 10,000, fixed)
    submissions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by customer
    webhooks: GoogleWebhooks = field(default_factory=GoogleWebhooks)
    dropped: list[str] = field(default_factory=list)               # webhook lead ids not sent
    invalid_grant: bool = False
    denied: str = ""                   # an authorizationError every search gets
    exhausted_next: int = 0            # searches answered RESOURCE_EXHAUSTED
    retry_delay_s: int = 30
    stuck_paging: bool = False         # every page names the first page's token again
    token_requests: int = 0
    searches: list[dict[str, Any]] = field(default_factory=list)  # query, page token, headers
    next_id: int = 700_000_000_001
    lock: threading.Lock = field(default_factory=threading.Lock)


def _state() -> GoogleState:
    return current_app.extensions["megasim.google"]  # type: ignore[no-any-return]


def ads_error(status: int, grpc_status: str, kind: str, code: str, message: str,
              extra: dict[str, Any] | None = None) -> tuple[Response, int]:
    """Google Ads' REST error: a google.rpc.Status with a GoogleAdsFailure in its details."""
    error: dict[str, Any] = {"errorCode": {kind: code}, "message": message, **(extra or {})}
    return jsonify({"error": {
        "code": status, "message": _STATUS_TEXT.get(grpc_status, message), "status": grpc_status,
        "details": [{"@type": FAILURE_TYPE, "errors": [error],
                     "requestId": secrets.token_urlsafe(16)}]}}), status


_STATUS_TEXT = {"INVALID_ARGUMENT": "Request contains an invalid argument.",
                "PERMISSION_DENIED": "The caller does not have permission",
                "UNAUTHENTICATED": "Request is missing required authentication credential. "
                                   "Expected OAuth 2 access token, login cookie or other valid "
                                   "authentication credential.",
                "RESOURCE_EXHAUSTED": "Resource has been exhausted (e.g. check quota)."}


def _oauth_error(status: int, error: str, description: str) -> tuple[Response, int]:
    return jsonify({"error": error, "error_description": description}), status


@google.post("/google/token")
def token() -> Any:
    """OAuth 2.0 refresh: form-encoded grant_type, client_id, client_secret, refresh_token."""
    state, form = _state(), request.form
    with state.lock:
        state.token_requests += 1
        if form.get("grant_type") != "refresh_token":
            return _oauth_error(400, "unsupported_grant_type", "Invalid grant_type: "
                                f"{form.get('grant_type', '')}")
        if state.clients.get(form.get("client_id", "")) != form.get("client_secret") or \
                not form.get("client_secret"):
            return _oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if state.invalid_grant or form.get("refresh_token") not in state.refresh_tokens:
            return _oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
        access = "ya29.demo-" + secrets.token_urlsafe(24)
        state.access[access] = time.time() + state.token_ttl_s
    return jsonify({"access_token": access, "expires_in": state.token_ttl_s,
                    "scope": "https://www.googleapis.com/auth/adwords", "token_type": "Bearer"})


@google.post(f"/google/ads/{API_VERSION}/customers/<customer_id>/googleAds:search")
def search(customer_id: str) -> Any:
    """One page of a GAQL search over the customer's lead form submissions."""
    state = _state()
    body = request.get_json(silent=True)
    with state.lock:
        state.searches.append({"customer_id": customer_id, **_seen(body)})
        if (refused := gate(state, customer_id)):
            return refused
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return ads_error(400, "INVALID_ARGUMENT", "queryError", "UNEXPECTED_END_OF_QUERY",
                             "Error in query: a query is required.")
        try:
            query = gaql.parse(body["query"], state.offset_min)
            start = read_page_token(str(body.get("pageToken") or ""), body["query"])
        except gaql.QueryError as exc:
            return ads_error(400, "INVALID_ARGUMENT", "queryError", exc.code, str(exc))
        except ValueError as exc:
            return ads_error(400, "INVALID_ARGUMENT", "requestError", "INVALID_PAGE_TOKEN",
                             str(exc))
        return jsonify(page(state, customer_id, query, body["query"], start))


def _seen(body: Any) -> dict[str, Any]:
    """What a search brought, for the inspection endpoint (the token itself is not kept)."""
    query = body.get("query") if isinstance(body, dict) else None
    return {"query": query, "page_token": body.get("pageToken") if isinstance(body, dict) else
            None, "developer_token": bool(request.headers.get("developer-token")),
            "login_customer_id": request.headers.get("login-customer-id")}


def gate(state: GoogleState, customer_id: str) -> tuple[Response, int] | None:
    """Faults, then the access token, developer token and account access checks, in order."""
    if state.exhausted_next:
        state.exhausted_next -= 1
        return ads_error(429, "RESOURCE_EXHAUSTED", "quotaError", "RESOURCE_EXHAUSTED",
                         "Too many requests. Retry in 30 seconds.", {"details": {
                             "quotaErrorDetails": {"rateScope": "DEVELOPER",
                                                   "rateName": "Requests per developer token",
                                                   "retryDelay": f"{state.retry_delay_s}s"}}})
    header = request.headers.get("Authorization", "")
    expiry = state.access.get(header.removeprefix("Bearer ")) if header.startswith("Bearer ") \
        else None
    if expiry is None or expiry <= time.time():
        code = "OAUTH_TOKEN_EXPIRED" if expiry is not None else "OAUTH_TOKEN_INVALID"
        return ads_error(401, "UNAUTHENTICATED", "authenticationError", code,
                         "Authentication of the request failed.")
    developer = request.headers.get("developer-token", "")
    if not developer:
        return ads_error(401, "UNAUTHENTICATED", "authenticationError",
                         "DEVELOPER_TOKEN_PARAMETER_MISSING", "Developer token parameter is "
                                                              "missing.")
    if developer not in state.developer_tokens:
        return ads_error(403, "PERMISSION_DENIED", "authorizationError",
                         "DEVELOPER_TOKEN_NOT_APPROVED", "The developer token is not approved.")
    manager = state.managers.get(customer_id)
    if state.denied or customer_id not in state.managers or \
            (manager and request.headers.get("login-customer-id") != manager):
        return ads_error(403, "PERMISSION_DENIED", "authorizationError",
                         state.denied or "USER_PERMISSION_DENIED",
                         "User doesn't have permission to access customer. Note: If you're "
                         "accessing a client customer, the manager's customer id must be set "
                         "in the 'login-customer-id' header.")
    return None


def page_token(query: str, start: int) -> str:
    """An opaque token naming the query it pages and where the next page starts."""
    digest = hashlib.sha256(query.encode()).hexdigest()[:16]
    return base64.urlsafe_b64encode(json.dumps([digest, start]).encode()).decode()


def read_page_token(token: str, query: str) -> int:
    """Where the page starts; a token of another query or not one of ours is refused."""
    if not token:
        return 0
    try:
        digest, start = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, TypeError) as exc:
        raise ValueError("Page token is invalid.") from exc
    if digest != hashlib.sha256(query.encode()).hexdigest()[:16] or not isinstance(start, int):
        raise ValueError("Page token is invalid: it was issued for another query.")
    return start


def page(state: GoogleState, customer_id: str, query: gaql.Query, text: str, start: int
         ) -> dict[str, Any]:
    """Results from `start`, the query's fields only, with nextPageToken while more remain."""
    chosen = sorted((s for s in state.submissions.get(customer_id, [])
                     if query.admits(s["_time"], s["asset"])),
                    key=lambda s: (s["_time"], s["id"]), reverse=query.descending)
    served = chosen[start:start + state.page_size]
    answer: dict[str, Any] = {"fieldMask": ",".join(f"leadFormSubmissionData.{f}"
                                                    for f in query.fields)}
    if served:
        answer["results"] = [{"leadFormSubmissionData": {
            "resourceName": s["resourceName"], **{f: s[f] for f in query.fields if f in s}}}
            for s in served]
    if state.stuck_paging:
        answer["nextPageToken"] = page_token(text, min(state.page_size, len(chosen)))
    elif start + state.page_size < len(chosen):
        answer["nextPageToken"] = page_token(text, start + state.page_size)
    return answer


@google.route("/_google", methods=["GET", "PATCH"])
def control() -> Response:
    """PATCH {"refresh_tokens", "developer_tokens", "managers": {customer: manager or ""},
    "token_ttl_s", "offset_min", "page_size", "invalid_grant", "denied", "exhausted_next",
    "retry_delay_s", "stuck_paging", "expire_access": true, "webhook": {"url", "google_key",
    "drop", "distinct_ids", "no_gclid", "seed"}}; GET shows the counters and what searches asked."""
    state = _state()
    with state.lock:
        if request.method == "PATCH":
            change(state, request.get_json(force=True))
        return jsonify({"token_requests": state.token_requests, "searches": state.searches,
                        "submissions": sum(len(v) for v in state.submissions.values()),
                        "dropped": state.dropped, "exhausted_next": state.exhausted_next})


def change(state: GoogleState, new: dict[str, Any]) -> None:
    """Apply one PATCH /_google."""
    for name in ("refresh_tokens", "developer_tokens"):
        if name in new:
            setattr(state, name, set(new[name]))
    state.managers.update(new.get("managers", {}))
    for name in ("token_ttl_s", "offset_min", "page_size", "exhausted_next", "retry_delay_s"):
        setattr(state, name, int(new.get(name, getattr(state, name))))
    for name in ("invalid_grant", "stuck_paging"):
        setattr(state, name, bool(new.get(name, getattr(state, name))))
    state.denied = str(new.get("denied", state.denied))
    if new.get("expire_access"):
        state.access = dict.fromkeys(state.access, 0.0)
    hook = new.get("webhook", {})
    for name in ("url", "google_key"):
        setattr(state.webhooks, name, str(hook.get(name, getattr(state.webhooks, name))))
    state.webhooks.drop = float(hook.get("drop", state.webhooks.drop))
    state.webhooks.distinct_ids = bool(hook.get("distinct_ids", state.webhooks.distinct_ids))
    state.webhooks.no_gclid = float(hook.get("no_gclid", state.webhooks.no_gclid))
    if "seed" in hook:
        state.webhooks.rng = random.Random(hook["seed"])
