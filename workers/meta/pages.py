"""Meta's Graph API beyond single leads: a form's leads by time, a page's forms, the token's
health (`debug_token`) and the page's webhook subscriptions (`subscribed_apps`).

Errors are the lead fetch's `GraphError`s (kind: token, throttled, gone, unavailable). The
token travels in the Authorization header; only `debug_token` must name it in the query.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from typing import Any

import httpx

from gateway import defaults
from gateway.deadline import client_timeout
from gateway.domain.sources.shape import part
from workers.meta.graph import LEAD_FIELDS, GraphError, get_json


def max_pages(window_s: int, page_size: int) -> int:
    """The pages a listing may take: RECONCILE_PAGES_FACTOR times the pages its time window can
    hold at RECONCILE_FORM_LEADS_PER_S, and at least RECONCILE_MIN_PAGES."""
    leads = window_s * defaults.RECONCILE_FORM_LEADS_PER_S
    return max(defaults.RECONCILE_MIN_PAGES,
               math.ceil(leads / page_size) * defaults.RECONCILE_PAGES_FACTOR)


class MetaPages:
    """One pooled client per thread that uses it."""

    def __init__(self, *, timeout_s: float, transport: httpx.BaseTransport | None = None):
        self.timeout_s = timeout_s
        self._http = httpx.Client(timeout=client_timeout(timeout_s), transport=transport)

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def leads(self, base_url: str, token: str, form_id: str, *, since: int,
              until: int | None = None, page_size: int = defaults.RECONCILE_PAGE_SIZE
              ) -> Iterator[list[dict[str, Any]]]:
        """Pages of the form's leads created after `since` (and before `until`), newest first.

        Follows the `after` cursor while Graph gives a `paging.next`: a page may be short (Meta
        filters leads out after paging), so only a missing `next` ends the listing. A cursor
        that repeats, a page of leads all listed before, or more pages than the window can
        hold (max_pages) end it with a GraphError: Graph is looping, not the form growing."""
        rules = [{"field": "time_created", "operator": "GREATER_THAN", "value": since}]
        if until is not None:
            rules.append({"field": "time_created", "operator": "LESS_THAN", "value": until})
        params = {"fields": LEAD_FIELDS, "limit": str(page_size),
                  "filtering": json.dumps(rules, separators=(",", ":"))}
        window_s = max(0, (int(time.time()) if until is None else until) - since)
        limit = max_pages(window_s, page_size)
        cursors: set[str] = set()
        ids: set[str] = set()
        for number in range(1, limit + 1):
            body = self.get(f"{base_url}/{form_id}/leads", token, params)
            data = body.get("data")
            page = [lead for lead in data if isinstance(lead, dict)] if isinstance(data, list) \
                else []
            fresh = {str(lead.get("id")) for lead in page} - ids
            if page and not fresh:
                raise GraphError(f"form {form_id}: Graph's page {number} lists only leads "
                                 "listed before", kind="unavailable")
            ids |= fresh
            yield page
            paging = part(body, "paging")
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return
            if str(after) in cursors:
                raise GraphError(f"form {form_id}: Graph repeated a paging cursor after "
                                 f"{number} pages", kind="unavailable")
            cursors.add(str(after))
            params = {**params, "after": str(after)}
        raise GraphError(f"form {form_id}: more than {limit} pages for "
                         f"{window_s} s of leads",
                         kind="unavailable")

    def forms(self, base_url: str, token: str, page_id: str) -> list[str]:
        """The ids of the page's lead forms."""
        body = self.get(f"{base_url}/{page_id}/leadgen_forms", token,
                        {"fields": "id,status", "limit": "100"})
        return [str(f["id"]) for f in body.get("data") or [] if isinstance(f, dict) and
                f.get("id") and f.get("status", "ACTIVE") != "ARCHIVED"]

    def debug_token(self, base_url: str, token: str, *, access_token: str = "") -> dict[str, Any]:
        """What Meta says of the token: is_valid, expires_at (0: never), scopes, app_id."""
        body = self.get(f"{base_url}/debug_token", access_token or token,
                        {"input_token": token})
        data = body.get("data")
        return data if isinstance(data, dict) else {}

    def subscribed_apps(self, base_url: str, token: str, page_id: str) -> list[dict[str, Any]]:
        """The apps subscribed to the page's webhooks, with their subscribed_fields."""
        body = self.get(f"{base_url}/{page_id}/subscribed_apps", token, {})
        return [app for app in body.get("data") or [] if isinstance(app, dict)]

    def get(self, url: str, token: str, params: dict[str, str]) -> dict[str, Any]:
        """One Graph API GET within the call's deadline, as JSON."""
        return get_json(self._http, url, token, params, deadline_s=self.timeout_s)
