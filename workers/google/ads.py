"""The Google Ads API, as reconciliation uses it: an OAuth access token from the route's refresh
token (cached until shortly before it expires), and `googleAds:search` over
`lead_form_submission_data`, followed by `nextPageToken` to the end within bounds.

Every failure becomes a `GoogleAdsError` here, the one boundary: token_invalid and
permission_missing are route-wide; throttled carries Google's retryDelay; a 401 from the Ads API
refreshes the access token once. Each call has one overall deadline (gateway/deadline.py).
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway import defaults
from gateway.deadline import client_timeout, request_within
from gateway.domain.sources.providers.google import GoogleSettings
from gateway.domain.sources.shape import part
from gateway.errors import GoogleAdsError
from workers.google.match import submitted_at

SELECTED = ("id", "asset", "campaign", "ad_group", "gclid", "submission_date_time",
            "lead_form_submission_fields", "custom_lead_form_submission_fields")
TIME_ZONE_SLACK_S = 14 * 3600      # GAQL reads times in the account's zone: UTC-12..UTC+14
TOKEN_ERRORS = {"invalid_grant", "invalid_client", "unauthorized_client"}
PERMISSION_STATUSES = {"PERMISSION_DENIED"}
PERMISSION_CODES = {"USER_PERMISSION_DENIED", "DEVELOPER_TOKEN_NOT_APPROVED",
                    "DEVELOPER_TOKEN_PROHIBITED", "CUSTOMER_NOT_ENABLED",
                    "ACTION_NOT_PERMITTED", "MISSING_TOS"}
DELAY = re.compile(r"^(\d+(?:\.\d+)?)s$")


@dataclass(frozen=True)
class Credentials:
    """A route's Ads API access; secrets are kept out of repr."""

    api_url: str
    token_url: str
    customer_id: str
    login_customer_id: str
    developer_token: str = field(repr=False)
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    @classmethod
    def of(cls, route_settings: object) -> Credentials:
        """From a google_lead_forms route's settings
        (gateway/domain/sources/providers/google.py)."""
        settings = GoogleSettings.of(route_settings)
        return cls(settings.ads_api_url.rstrip("/"), settings.oauth_token_url,
                   settings.ads_customer_id, settings.login_customer_id,
                   settings.developer_token, settings.oauth_client_id,
                   settings.oauth_client_secret, settings.oauth_refresh_token)

    @property
    def cache_key(self) -> str:
        """Which refresh token an access token came from, without keeping the token itself."""
        raw = "\0".join((self.token_url, self.client_id, self.refresh_token)).encode()
        return hashlib.sha256(raw).hexdigest()


class GoogleAds:
    """One pooled client per thread that uses it."""

    def __init__(self, *, timeout_s: float, transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 max_pages: int = defaults.GOOGLE_MAX_PAGES):
        self.timeout_s, self.max_pages, self._clock = timeout_s, max_pages, clock
        self._http = httpx.Client(timeout=client_timeout(timeout_s), transport=transport)
        self._tokens: dict[str, tuple[str, float]] = {}       # cache key -> (token, expiry)

    def close(self) -> None:
        self._http.close()

    def submissions(self, creds: Credentials, *, since: float, until: float | None = None,
                    forms: tuple[str, ...] = ()) -> Iterator[list[dict[str, Any]]]:
        """Pages of lead form submissions made in [since, until] (unix seconds), oldest first,
        of the given forms (default all). The query's window is widened by the largest time
        zone offset, and each submission's own time (with its offset) decides."""
        query = submissions_query(since - TIME_ZONE_SLACK_S,
                                  None if until is None else until + TIME_ZONE_SLACK_S,
                                  creds.customer_id, forms)
        for rows in self.search(creds, query):
            yield [row for row in rows if within(submitted_at(row), since, until)]

    def search(self, creds: Credentials, query: str) -> Iterator[list[dict[str, Any]]]:
        """Every page of a GAQL query's `leadFormSubmissionData` rows. A page token that comes
        back again, a page with no new id, or more than max_pages pages ends it with an error
        (a listing cut short must not move a watermark)."""
        seen_tokens: set[str] = set()
        seen_ids: set[str] = set()
        token = ""
        for _ in range(self.max_pages):
            body = self.call(creds, query, token)
            rows = rows_of(body)
            new = {str(r.get("id")) for r in rows} - seen_ids
            token = str(body.get("nextPageToken") or "")
            if token and (token in seen_tokens or not new):
                raise GoogleAdsError("googleAds:search pages without end (a page token came "
                                     "back, or a page brought no new submission)",
                                     kind="unknown", reason="PAGING_LOOP")
            seen_ids |= new
            seen_tokens.add(token)
            yield rows
            if not token:
                return
        raise GoogleAdsError(f"googleAds:search: more than {self.max_pages} pages",
                             kind="unknown", reason="TOO_MANY_PAGES")

    def call(self, creds: Credentials, query: str, page_token: str) -> dict[str, Any]:
        """One search page; a 401 refreshes the access token and asks once more."""
        body = {"query": query, **({"pageToken": page_token} if page_token else {})}
        url = f"{creds.api_url}/customers/{creds.customer_id}/googleAds:search"
        for attempt in (1, 2):
            status, answer = self._post(url, json=body, headers=self._headers(creds))
            if status == 401 and attempt == 1:
                self._tokens.pop(creds.cache_key, None)
                continue
            if 200 <= status < 300 and isinstance(answer, dict) and "error" not in answer:
                return answer
            raise classify_ads(status, answer)
        raise AssertionError("unreachable")

    def access_token(self, creds: Credentials) -> str:
        """A live access token: the cached one, or a new one from the refresh token."""
        cached = self._tokens.get(creds.cache_key)
        if cached and cached[1] > self._clock():
            return cached[0]
        status, answer = self._post(creds.token_url, data={
            "grant_type": "refresh_token", "client_id": creds.client_id,
            "client_secret": creds.client_secret, "refresh_token": creds.refresh_token})
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not (200 <= status < 300) or not isinstance(token, str) or not token:
            raise classify_oauth(status, answer)
        lifetime = answer.get("expires_in")
        lifetime = float(lifetime) if isinstance(lifetime, int | float) else 0.0
        self._tokens[creds.cache_key] = (
            token, self._clock() + max(0.0, lifetime - defaults.GOOGLE_TOKEN_EARLY_S))
        return token

    def _headers(self, creds: Credentials) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.access_token(creds)}",
                   "developer-token": creds.developer_token}
        if creds.login_customer_id:
            headers["login-customer-id"] = creds.login_customer_id
        return headers

    def _post(self, url: str, **kwargs: Any) -> tuple[int, Any]:
        try:
            status, raw, _ = request_within(self._http, "POST", url, deadline_s=self.timeout_s,
                                            clock=self._clock, **kwargs)
        except httpx.HTTPError as exc:
            raise GoogleAdsError(f"Google unreachable ({type(exc).__name__})",
                                 kind="unavailable", reason=type(exc).__name__) from exc
        try:
            return status, json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            return status, None


def submissions_query(since: float, until: float | None, customer_id: str,
                      forms: tuple[str, ...]) -> str:
    """The GAQL for submissions in a window (account time, no offset), oldest first."""
    where = [f"lead_form_submission_data.submission_date_time >= '{gaql_time(since)}'"]
    if until is not None:
        where.append(f"lead_form_submission_data.submission_date_time <= '{gaql_time(until)}'")
    if forms:
        names = ", ".join(f"'customers/{customer_id}/assets/{form}'" for form in forms)
        where.append(f"lead_form_submission_data.asset IN ({names})")
    fields = ", ".join(f"lead_form_submission_data.{name}" for name in SELECTED)
    return (f"SELECT {fields} FROM lead_form_submission_data WHERE {' AND '.join(where)} "
            "ORDER BY lead_form_submission_data.submission_date_time")


def within(at: float | None, since: float, until: float | None) -> bool:
    """Whether a submission time is in the window; an unreadable one is kept for the caller."""
    return at is None or (since <= at and (until is None or at <= until))


def gaql_time(unix: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(unix))


def rows_of(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The submissions of one search page (an empty page has no `results`)."""
    results = body.get("results")
    return [r["leadFormSubmissionData"] for r in results if isinstance(r, dict) and
            isinstance(r.get("leadFormSubmissionData"), dict)] if isinstance(results, list) \
        else []


def classify_oauth(status: int, answer: Any) -> GoogleAdsError:
    """The token endpoint's refusal: a dead refresh token or client is route-wide."""
    error = answer.get("error") if isinstance(answer, dict) else None
    reason = error if isinstance(error, str) else f"HTTP {status}"
    if reason in TOKEN_ERRORS:
        return GoogleAdsError(f"Google OAuth refused the refresh token ({reason})",
                              kind="token_invalid", reason=reason, route_wide=True,
                              status=status)
    kind = "unavailable" if status >= 500 or status == 429 else "unknown"
    return GoogleAdsError(f"Google OAuth answered {status} ({reason})", kind=kind,
                          reason=reason, status=status)


def classify_ads(status: int, answer: Any) -> GoogleAdsError:
    """The Ads API's error as what reconciliation must do."""
    error = answer.get("error") if isinstance(answer, dict) else None
    error = error if isinstance(error, dict) else {}
    grpc = str(error.get("status") or "")
    first = first_error(error)
    code = part(first, "errorCode")
    reason = str(next(iter(code.values()), "") or grpc or f"HTTP {status}")
    message = f"Google Ads {status} {grpc}: {reason}"
    if status == 401 or grpc == "UNAUTHENTICATED":
        return GoogleAdsError(message, kind="token_invalid", reason=reason, route_wide=True,
                              status=status)
    if grpc in PERMISSION_STATUSES or reason in PERMISSION_CODES or status == 403:
        return GoogleAdsError(message, kind="permission_missing", reason=reason,
                              route_wide=True, status=status)
    if grpc == "RESOURCE_EXHAUSTED" or status == 429:
        return GoogleAdsError(message, kind="throttled", reason=reason, status=status,
                              retry_after_s=retry_delay(first))
    kind = "unavailable" if status >= 500 else "unknown"
    return GoogleAdsError(message, kind=kind, reason=reason, status=status)


def first_error(error: dict[str, Any]) -> dict[str, Any]:
    """The first GoogleAdsError in a google.rpc.Status's details, or {}."""
    for detail in error.get("details") or []:
        errors = detail.get("errors") if isinstance(detail, dict) else None
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return errors[0]
    return {}


def retry_delay(error: dict[str, Any]) -> float | None:
    """quotaErrorDetails.retryDelay ("30s") in seconds, when Google gives one."""
    details = part(error, "details")
    quota = details.get("quotaErrorDetails") if isinstance(details, dict) else None
    delay = quota.get("retryDelay") if isinstance(quota, dict) else None
    found = DELAY.match(delay) if isinstance(delay, str) else None
    return float(found[1]) if found else None
