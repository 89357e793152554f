"""Meta's Graph API: fetch the lead data a `leadgen` webhook only names by id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

LEAD_FIELDS = "id,created_time,ad_id,ad_name,adset_name,campaign_name,form_id,platform," \
              "is_organic,field_data"
MAX_IDS = 50                       # Graph's limit on ids per multi-id lookup
TOKEN_CODES = {102, 190}           # invalid, expired or revoked access token
THROTTLE_CODES = {4, 17, 32, 613, 80005}
GONE_CODES = {10, 100}             # the lead does not exist, or the token may not read it


class GraphError(Exception):
    def __init__(self, message: str, *, kind: str, code: int | None = None):
        super().__init__(message)
        self.kind, self.code = kind, code       # kind: token, throttled, gone, unavailable


@dataclass
class Fetched:
    leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone: dict[str, str] = field(default_factory=dict)        # lead id -> Meta's message


class GraphClient:
    """One pooled client per worker; the token goes in a header, never in a URL."""

    def __init__(self, *, timeout_s: float, transport: httpx.BaseTransport | None = None):
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s), transport=transport)

    def close(self) -> None:
        self._http.close()

    def fetch(self, base_url: str, token: str, lead_ids: list[str]) -> Fetched:
        """Every lead by id, many per call; a lead Meta says is gone is isolated, not fatal."""
        fetched = Fetched()
        for start in range(0, len(lead_ids), MAX_IDS):
            chunk = lead_ids[start:start + MAX_IDS]
            try:
                found = self._get(base_url, token, {"ids": ",".join(chunk)})
                fetched.leads.update({str(k): v for k, v in found.items()
                                      if isinstance(v, dict)})
            except GraphError as exc:
                if exc.kind != "gone":
                    raise
                for lead_id in chunk:       # one missing id fails a multi-id call: ask singly
                    try:
                        fetched.leads[lead_id] = self._get(f"{base_url}/{lead_id}", token, {})
                    except GraphError as single:
                        if single.kind != "gone":
                            raise
                        fetched.gone[lead_id] = str(single)
        return fetched

    def _get(self, url: str, token: str, params: dict[str, str]) -> dict[str, Any]:
        return get_json(self._http, url.rstrip("/") + ("/" if "ids" in params else ""), token,
                        {**params, "fields": LEAD_FIELDS})


def get_json(http: httpx.Client, url: str, token: str, params: dict[str, str]
             ) -> dict[str, Any]:
    """One Graph GET, the token in the header; any failure becomes a GraphError."""
    try:
        response = http.get(url, params=params, headers={"Authorization": f"Bearer {token}"})
    except httpx.TransportError as exc:
        raise GraphError(f"Graph API unreachable ({type(exc).__name__})",
                         kind="unavailable") from exc
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.is_success and isinstance(body, dict) and "error" not in body:
        return body
    raise classify(response.status_code, body)


def classify(status: int, body: Any) -> GraphError:
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    code = error.get("code") if isinstance(error.get("code"), int) else None
    message = f"Graph {status}: {str(error.get('message') or 'no error message')[:300]}"
    if code in TOKEN_CODES or (status == 401 and code is None):
        kind = "token"
    elif code in THROTTLE_CODES or status == 429:
        kind = "throttled"
    elif code in GONE_CODES or 200 <= (code or 0) < 300 or status == 404:
        kind = "gone"
    else:
        kind = "unavailable"
    return GraphError(message, kind=kind, code=code)
