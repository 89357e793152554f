"""One ingest path: a route's leads to stored events, for the intake, the CSV import and
reconciliation alike.

`ingest` takes a delivery's drafts (the intake); `stored` takes leads whose events are built
(an import's rows, reconciliation's listed items) and is the path all three share: the source's
twin check (gateway/domain/sources/twins.py), the store in one round trip (dedup, store,
queue), then remembering the new leads for the twin check to come.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from gateway.config import Config, Customer, Route
from gateway.domain.leads import draft_event
from gateway.domain.sources.base import Draft, Source
from gateway.domain.sources.twins import Twin, Twins
from gateway.errors import BadRequest, LeadgateError
from gateway.store.google_match import GoogleTwins
from gateway.store.store import Store

log = logging.getLogger("leadgate.intake")

# The webhook side of each source that declares twins (Source.remembered); a listing's side is
# its reconciliation (workers/capabilities.py).
TWINS: dict[str, Twins] = {"google_lead_forms": GoogleTwins()}


@dataclass(frozen=True)
class Ingested:
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


def ingest(store: Store, config: Config, route: Route, source: Source, drafts: list[Draft],
           now: float) -> Ingested:
    """A delivery's drafts as the route's stored events; NoUsableLead when one has no usable
    lead (nothing is stored then)."""
    with readable(route.source):
        records = [draft_event(route, source, draft, now).to_fields() for draft in drafts]
    return stored(store, route, list(zip(drafts, records, strict=True)), now,
                  customer=config.customers[route.customer], ttl_s=config.dedup_ttl_s,
                  twins=TWINS.get(route.source))


def stored(store: Store, route: Route, leads: list[tuple[Any, dict[str, str]]], now: float, *,
           customer: Customer, ttl_s: int, twins: Twins | None = None,
           dry_run: bool = False) -> Ingested:
    """Leads (what arrived, with its event's record) as stored events: the source's twins
    are duplicates, the rest stored in one round trip (dry: only looked up), and the new
    ones remembered for the twin check."""
    found = twins.twins(store, route, _ids(leads), now) if twins and leads else {}
    fresh = [(lead, rec) for lead, rec in leads if rec["id"] not in found]
    records = [rec for _, rec in fresh]
    if dry_run:
        added = [not known for known in store.stored([rec["id"] for rec in records])]
    else:
        added = store.ingest(customer, records, ttl_s) if records else []
        if twins:
            twins.remember(store, route, _ids([p for p, new in zip(fresh, added, strict=True)
                                               if new]), now)
    return _outcome([rec["id"] for _, rec in leads], found, iter(added))


def _ids(leads: list[tuple[Any, dict[str, str]]]) -> list[tuple[Any, str]]:
    return [(lead, rec["id"]) for lead, rec in leads]


def _outcome(ids: list[str], found: dict[str, Twin], added: Iterator[bool]) -> Ingested:
    """Each lead's event id and why it was known, in order (`added` has the stored ones')."""
    known = [found[i].rule if i in found else "" if next(added) else "id" for i in ids]
    return Ingested([found[i].event_id if i in found else i for i in ids], known)


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
