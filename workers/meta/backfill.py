"""`leadgate backfill`: the reconciliation's listing over a window of days, on demand."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime

from gateway.config import Config, Route
from gateway.store import Store
from workers.meta.pages import MetaPages
from workers.reconcile import Tally, ingest_page


def created_at(lead: dict[str, object]) -> int | None:
    """A listed lead's created_time ("2026-05-01T12:00:00+0000") as unix seconds."""
    try:
        return int(datetime.strptime(str(lead.get("created_time")),
                                     "%Y-%m-%dT%H:%M:%S%z").timestamp())
    except ValueError:
        return None


def backfill(config: Config, store: Store, route: Route, forms: list[str], *, since: int,
             until: int, dry_run: bool, pages: MetaPages,
             progress: Callable[[int], None] = lambda _: None) -> Tally:
    """List each form's leads created in [since, until) and ingest the unknown ones (dry: only
    count them). progress gets the seconds of the window covered since its last call."""
    tally, now = Tally(), time.time()
    url, token = route.settings["graph_api_url"], route.settings["page_access_token"]
    for form in forms:
        covered = 0
        for page in pages.leads(url, token, form, since=since - 1, until=until):
            tally.add(ingest_page(store, config, route, page, now, "backfill", dry_run=dry_run))
            oldest = min((t for lead in page if (t := created_at(lead))), default=None)
            if oldest is not None and until - oldest > covered:
                progress(until - oldest - covered)
                covered = until - oldest
        progress(until - since - covered)
    return tally
