"""Meta's Graph API: fetch the lead data a `leadgen` webhook only names by id."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from gateway.deadline import AnswerTooLarge, client_timeout, request_within
from gateway.errors import SourceError

LEAD_FIELDS = "id,created_time,ad_id,ad_name,adset_name,campaign_name,form_id,platform," \
              "is_organic,field_data"
MAX_IDS = 50                       # Graph's limit on ids per multi-id lookup
MAX_SINGLE_LOOKUPS = 10            # one-id calls per fetch when Graph names no missing id
TOKEN_CODES = {102, 190}           # invalid, expired or revoked access token
THROTTLE_CODES = {4, 17, 32, 613, 80005}
PERMISSION_CODES = {10} | set(range(200, 300))   # leads_retrieval revoked, app removed...
HOLD_KINDS = ("token", "permission")   # the route's access fails as a whole: hold it
MISSING = re.compile(r"do(?:es)? not exist:?\s*([\d,\s]+)")
OBJECT = re.compile(r"Object with ID '(\d+)' does not exist")


class GraphError(SourceError):
    """kind: token and permission hold the route; throttled and unavailable retry the batch;
    gone names the leads Meta says do not exist (`ids`)."""

    def __init__(self, message: str, *, kind: str, code: int | None = None,
                 ids: tuple[str, ...] = ()):
        super().__init__(message, kind=kind, reason=f"meta_{kind}",
                         route_wide=kind in HOLD_KINDS)
        self.code, self.ids = code, ids


@dataclass
class Fetched:
    """What one Graph API read gave: leads by id, and the ids Meta says are gone."""

    leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone: dict[str, str] = field(default_factory=dict)        # lead id -> Meta's message


class GraphClient:
    """One pooled client per worker; the token goes in a header, never in a URL.
    Each call has one overall deadline, `timeout_s` (gateway/deadline.py)."""

    def __init__(self, *, timeout_s: float, transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.timeout_s, self._clock = timeout_s, clock
        self._http = httpx.Client(timeout=client_timeout(timeout_s), transport=transport)

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def fetch(self, base_url: str, token: str, lead_ids: list[str], *,
              before_call: Callable[[], None] = lambda: None) -> Fetched:
        """Every lead by id, many per call; a lead Meta says is gone is isolated, not fatal.
        `before_call` runs before each call (the flush renews its lease there)."""
        fetched = Fetched()
        for start in range(0, len(lead_ids), MAX_IDS):
            self._chunk(base_url, token, lead_ids[start:start + MAX_IDS], fetched, before_call)
        return fetched

    def _chunk(self, base_url: str, token: str, chunk: list[str], fetched: Fetched,
               before_call: Callable[[], None]) -> None:
        """One multi-id call; ids Meta names as missing are set aside and the rest asked again."""
        while chunk:
            before_call()
            try:
                found = self._get(base_url, token, {"ids": ",".join(chunk)})
            except GraphError as exc:
                if exc.kind != "gone":
                    raise
                named = [i for i in chunk if i in exc.ids]
                if not named:
                    return self._singly(base_url, token, chunk, fetched, before_call)
                fetched.gone.update(dict.fromkeys(named, str(exc)))
                chunk = [i for i in chunk if i not in named]
                continue
            fetched.leads.update({str(k): v for k, v in found.items() if isinstance(v, dict)})
            return None
        return None

    def _singly(self, base_url: str, token: str, chunk: list[str], fetched: Fetched,
                before_call: Callable[[], None]) -> None:
        """Graph said some id is missing without naming it: ask a bounded number singly."""
        if len(chunk) > MAX_SINGLE_LOOKUPS:
            raise GraphError(f"Graph names no missing lead among {len(chunk)}: retrying later",
                             kind="unavailable")
        for lead_id in chunk:
            before_call()
            try:
                fetched.leads[lead_id] = self._get(f"{base_url}/{lead_id}", token, {})
            except GraphError as single:
                if single.kind != "gone":
                    raise
                fetched.gone[lead_id] = str(single)

    def _get(self, url: str, token: str, params: dict[str, str]) -> dict[str, Any]:
        asked = params.get("ids", url.rstrip("/").rsplit("/", 1)[-1])
        return get_json(self._http, url.rstrip("/") + ("/" if "ids" in params else ""), token,
                        {**params, "fields": LEAD_FIELDS}, deadline_s=self.timeout_s,
                        clock=self._clock, asked=asked)


def get_json(http: httpx.Client, url: str, token: str, params: dict[str, str], *,
             deadline_s: float, clock: Callable[[], float] = time.monotonic, asked: str = ""
             ) -> dict[str, Any]:
    """One Graph GET within one overall deadline, the token in the header; any failure
    becomes a GraphError."""
    try:
        status, raw, _ = request_within(http, "GET", url, deadline_s=deadline_s, clock=clock,
                                        params=params,
                                        headers={"Authorization": f"Bearer {token}"})
    except AnswerTooLarge as exc:
        raise GraphError(f"Graph {exc.status}: {exc}", kind="unavailable") from exc
    except httpx.HTTPError as exc:
        raise GraphError(f"Graph API unreachable ({type(exc).__name__})",
                         kind="unavailable") from exc
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = {}
    if 200 <= status < 300 and isinstance(body, dict) and "error" not in body:
        return body
    raise classify(status, body, asked=asked)


def classify(status: int, body: Any, *, asked: str = "") -> GraphError:
    """Meta's error as what the flush must do: hold the route, retry, or drop named leads."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    text = str(error.get("message") or "no error message")
    message = f"Graph {status}: {text[:300]}"
    named = missing_ids(text, asked)
    if code in TOKEN_CODES or (status == 401 and code is None):
        return GraphError(message, kind="token", code=code)
    if code in THROTTLE_CODES or status == 429:
        return GraphError(message, kind="throttled", code=code)
    if code == 100 and named:
        return GraphError(message, kind="gone", code=code, ids=named)
    if code == 100 and "," in asked:
        return GraphError(message, kind="gone", code=code)       # which one: ask singly
    if code in PERMISSION_CODES or status == 404 or code == 100:
        return GraphError(message, kind="permission", code=code)
    return GraphError(message, kind="unavailable", code=code)


def missing_ids(text: str, asked: str) -> tuple[str, ...]:
    """The lead ids a code-100 message names as not existing (only ids that were asked for)."""
    asked_ids = set(asked.split(","))
    found = MISSING.search(text) or OBJECT.search(text)
    names = found.group(1).replace(" ", "").split(",") if found else []
    return tuple(i for i in names if i in asked_ids)
