"""Meta's enrichment step: a `leadgen` webhook names a lead; the Graph API holds its answers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gateway.domain.event import Event
from gateway.domain.leads import lead_record
from gateway.domain.sources.base import Draft
from gateway.domain.sources.enrichment import Enriched, Events, Fetch
from gateway.errors import NoUsableLead

STORED = ("lead", "warnings", "unmapped")


class GraphLeads:
    """Read each lead by id (many per call); a lead Meta says is gone is set aside."""

    def __init__(self, draft: Callable[[str, dict[str, Any], dict[str, Any]], Draft],
                 defaults: dict[str, str]):
        self.draft, self.defaults = draft, defaults

    def access(self, settings: Any) -> tuple[str, str]:
        """The API's base URL and the access token, from the route's settings."""
        return settings.graph_api_url, settings.page_access_token

    def run(self, route: Any, events: Events, fetch: Fetch) -> Enriched:
        """The events' lead records; Graph failures of the whole route raise."""
        url, token = self.access(route.settings)
        fetched = fetch(url, token,
                        [e.provider_id for e in events])
        found = Enriched()
        for event in events:
            lead_id = event.provider_id
            if lead_id in fetched.gone:
                found.gone[event.id] = fetched.gone[lead_id]
                continue
            try:
                found.records[event.id] = self.record(route, event,
                                                         fetched.leads.get(lead_id))
            except (NoUsableLead, LookupError) as exc:
                found.gone[event.id] = str(exc)
        return found

    def record(self, route: Any, event: Event, lead: dict[str, Any] | None
               ) -> dict[str, str]:
        """The stored fields of one event, from its webhook fields and the Graph lead."""
        if lead is None:
            raise LookupError("the Graph API returned no lead for this id")
        draft = self.draft(event.provider_id, json.loads(event.extra.get("fields") or "{}"), lead)
        record = lead_record(route, self.defaults, draft)
        return {k: record[k] for k in STORED}
