"""HubSpot's CRM API: read the contacts a Webhooks API `contact.creation` names by id.

One `GET /crm/v3/objects/contacts/{id}?properties=...` per contact, the private app's token in
the Authorization header, each call within one overall deadline and its decoded answer capped
(gateway/deadline.py). A revoked token or a lost scope fails the route as a whole (its leads are
held, as Meta's are on a Graph token error); a contact HubSpot says does not exist is set aside.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from gateway.deadline import AnswerTooLarge, client_timeout, request_within
from gateway.domain.sources.providers.crm.hubspot_contacts import CONTACT_FIELDS
from gateway.errors import SourceError

HOLD_KINDS = ("token_invalid", "permission_missing")


class HubSpotError(SourceError):
    """kind: token_invalid and permission_missing hold the route; throttled and unavailable
    retry the batch; gone: the contact does not exist."""

    def __init__(self, message: str, *, kind: str, status: int | None = None,
                 retry_after_s: float | None = None):
        super().__init__(message, kind=kind, reason=f"hubspot_{kind}",
                         route_wide=kind in HOLD_KINDS, retry_after_s=retry_after_s,
                         status=status)


@dataclass
class Fetched:
    """What one CRM read found: leads by event id, and the ids it could not read."""

    leads: dict[str, dict[str, Any]] = field(default_factory=dict)
    gone: dict[str, str] = field(default_factory=dict)        # contact id -> HubSpot's message


class HubSpotClient:
    """One pooled client per worker; the token goes in a header, never in a URL."""

    def __init__(self, *, timeout_s: float, transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.timeout_s, self._clock = timeout_s, clock
        self._http = httpx.Client(timeout=client_timeout(timeout_s), transport=transport)

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def fetch(self, base_url: str, token: str, ids: list[str], *,
              before_call: Callable[[], None] = lambda: None) -> Fetched:
        """Every contact by id; one HubSpot says is gone is set aside, any other failure
        raises. `before_call` runs before each call (the flush renews its lease there)."""
        fetched = Fetched()
        for contact_id in ids:
            before_call()
            try:
                fetched.leads[contact_id] = self.contact(base_url, token, contact_id)
            except HubSpotError as exc:
                if exc.kind != "gone":
                    raise
                fetched.gone[contact_id] = str(exc)
        return fetched

    def contact(self, base_url: str, token: str, contact_id: str) -> dict[str, Any]:
        """One contact with the properties leadgate reads."""
        url = f"{base_url.rstrip('/')}/crm/v3/objects/contacts/{quote(contact_id, safe='')}"
        try:
            status, raw, headers = request_within(
                self._http, "GET", url, deadline_s=self.timeout_s, clock=self._clock,
                params={"properties": ",".join(CONTACT_FIELDS), "archived": "false"},
                headers={"Authorization": f"Bearer {token}"})
        except AnswerTooLarge as exc:
            raise HubSpotError(f"HubSpot {exc.status}: {exc}", kind="unavailable") from exc
        except httpx.HTTPError as exc:
            raise HubSpotError(f"HubSpot's CRM API unreachable ({type(exc).__name__})",
                               kind="unavailable") from exc
        body = _json(raw)
        if 200 <= status < 300 and isinstance(body, dict):
            return body
        raise classify(status, body, headers.get("Retry-After"))


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None


def classify(status: int, body: Any, retry_after: str | None = None) -> HubSpotError:
    """HubSpot's error as what the flush must do: hold the route, retry, or set the contact
    aside."""
    detail = body if isinstance(body, dict) else {}
    message = f"HubSpot {status}: {str(detail.get('message') or 'no message')[:300]}"
    if status == 401:
        return HubSpotError(message, kind="token_invalid", status=status)
    if status == 403:
        return HubSpotError(message, kind="permission_missing", status=status)
    if status == 404:
        return HubSpotError(message, kind="gone", status=status)
    if status == 429:
        wait = float(retry_after) if retry_after and retry_after.isdigit() else None
        return HubSpotError(message, kind="throttled", status=status, retry_after_s=wait)
    return HubSpotError(message, kind="unavailable", status=status)
