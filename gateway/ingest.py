"""One ingest path: a route's leads to stored events, for the intake, the CSV import and
reconciliation alike.

`ingest` takes a delivery's drafts (the intake), or leads whose event records are built
already (an import's rows, reconciliation's listed items): the event, the source's twin check
(gateway/domain/sources/twins.py), the store in one round trip (dedup, store, queue), then
remembering the new leads for the twin check to come.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

from gateway.config import Customer, Route
from gateway.domain.leads import draft_event
from gateway.domain.sources.base import Source
from gateway.domain.sources.twins import Twins
from gateway.errors import BadRequest, LeadgateError
from gateway.store.google_match import GoogleTwins
from gateway.store.store import Store

log = logging.getLogger("leadgate.intake")

# The webhook side of each source that declares twins (Source.remembered); a listing's side is
# its reconciliation (workers/capabilities.py).
TWINS: dict[str, Twins] = {"google_lead_forms": GoogleTwins()}


class Ingested(NamedTuple):
    """What became of each lead, in order: the id of its event (a twin's where the source
    found one), and why it was not stored now ("" when it was; "id": the event key knew it;
    else the twin rule that found it)."""

    events: list[str]
    known: list[str]

    @property
    def accepted(self) -> int:
        """How many leads were stored now."""
        return self.known.count("")

    @property
    def duplicates(self) -> int:
        """How many leads were stored already."""
        return len(self.known) - self.accepted


def ingest(store: Store, route: Route, leads: list[Any], now: float, *, customer: Customer,
           ttl_s: int, source: Source[Any] | None = None,
           records: list[dict[str, str]] | None = None, twins: Twins | None = None,
           dry_run: bool = False) -> Ingested:
    """Leads as the route's stored events: a source's drafts (their events built here;
    NoUsableLead when one has no usable lead, and nothing is stored), or what `records` were
    built from. The source's twins (TWINS', unless given) are duplicates, the rest stored in
    one round trip (dry: only looked up), and the new ones remembered for the twin check."""
    with readable(route.source):
        if records is None:
            records = [draft_event(route, source, draft, now).to_fields() for draft in leads]
    twins = twins or TWINS.get(route.source)
    ids = [rec["id"] for rec in records]
    found = twins.twins(store, route, list(zip(leads, ids, strict=True)), now) if (
        twins and leads) else {}
    fresh = [rec for rec in records if rec["id"] not in found] if found else records
    if dry_run:
        added = [not known for known in store.stored([rec["id"] for rec in fresh])]
    else:
        added = store.ingest(customer, fresh, ttl_s) if fresh else []
        if twins:
            kept = [lead for lead, i in zip(leads, ids, strict=True) if i not in found]
            twins.remember(store, route, [(lead, rec["id"]) for lead, rec, new
                                          in zip(kept, fresh, added, strict=True) if new], now)
    if not found:
        return Ingested(ids, ["" if new else "id" for new in added])
    more = iter(added)
    return Ingested([found[i].event_id if i in found else i for i in ids],
                    [found[i].rule if i in found else "" if next(more) else "id" for i in ids])


@contextmanager
def readable(source: str) -> Iterator[None]:
    """A parser's slip on an authenticated delivery is a 400, never a 500 (which a provider
    retries for up to 36 hours); the message names no value, the log keeps the traceback."""
    try:
        yield
    except LeadgateError:
        raise
    except Exception as exc:
        log.warning("unreadable delivery", exc_info=exc,
                    extra={"source": source, "error": type(exc).__name__})
        raise BadRequest(f"the {source} delivery has a field of an unexpected shape "
                         f"({type(exc).__name__})") from None
