"""Meta's reconciliation: a route's lead forms, each form's leads by creation time, and each
listed lead as the event its webhook would have made (the same event key: its lead id)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from gateway import defaults
from gateway.config import Route
from gateway.domain.sources import SOURCES
from gateway.domain.sources.base import Draft
from gateway.domain.sources.providers.meta import MetaSettings, lead_draft
from gateway.domain.sources.twins import Twin
from gateway.store.store import Store
from workers.meta.pages import MetaPages

SOURCE = "meta_lead_ads"


class MetaReconciliation:
    """Lists a Meta route's form leads; one instance per thread (it owns its HTTP client)."""

    source = SOURCES[SOURCE]

    def __init__(self, *, timeout_s: float, pages: MetaPages | None = None):
        self.pages = pages or MetaPages(timeout_s=timeout_s)

    def close(self) -> None:
        """Close the Graph client."""
        self.pages.close()

    def streams(self, route: Route) -> list[str]:
        """The route's forms, each with its own watermark: as configured, else the page's."""
        settings = MetaSettings.of(route.settings)
        if settings.forms:
            return list(settings.forms)
        return self.pages.forms(settings.graph_api_url, settings.page_access_token,
                                settings.page_id)

    def listing(self, route: Route, stream: str, *, since: int, until: int,
                page_size: int = defaults.RECONCILE_PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
        """Pages of the form's leads created after `since` and before `until` (unix s)."""
        settings = MetaSettings.of(route.settings)
        return self.pages.leads(settings.graph_api_url, settings.page_access_token, stream,
                                since=since, until=until, page_size=page_size)

    def drafts(self, route: Route, item: dict[str, Any]) -> list[Draft]:
        """A listed lead as its webhook's drafts, the first usable one stored: the lead built
        from the listing, else left to the enrichment step (which dead-letters it with the
        reason); none without an id."""
        lead_id = str(item.get("id") or "")
        if not lead_id:
            return []
        known = {name: str(item[name]) for name in ("form_id", "ad_id") if item.get(name)}
        if page_id := MetaSettings.of(route.settings).page_id:
            known["page_id"] = page_id
        return [lead_draft(lead_id, known, item),
                Draft(event_id=lead_id, fields=known, enrich="meta")]

    def twins(self, store: Store, route: Route, leads: list[tuple[Any, str]], now: float
              ) -> dict[str, Twin]:
        """Meta's leads match their webhooks by lead id alone: the event key."""
        return {}

    def remember(self, store: Store, route: Route, leads: list[tuple[Any, str]],
                 now: float) -> None:
        """A later webhook has the same lead id: the event key finds it."""

    def backfill_refusal(self, since: float, now: float) -> str:
        """Graph lists a form's leads for as long as Meta keeps them: no limit of our own."""
        return ""

    def created_at(self, item: dict[str, Any]) -> int | None:
        """A listed lead's created_time ("2026-05-01T12:00:00+0000") as unix seconds."""
        try:
            return int(datetime.strptime(str(item.get("created_time")),
                                         "%Y-%m-%dT%H:%M:%S%z").timestamp())
        except ValueError:
            return None
