"""What the console shows, read from Redis: event pages, the overview, masked contacts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import phonenumbers
from flask import abort

from gateway import defaults
from gateway.logs import mask
from gateway.store.store import Store, now_ms

FILTERS = ("status", "customer", "route", "source")
WINDOWS = {"1h": 3600, "24h": 86_400, "7d": 7 * 86_400}
REJECTED = {"unauthorized", "bad_request", "forbidden", "too_large", "unsupported_type",
            "no_lead", "bad_method", "unavailable", "error"}
CHUNK = 200
DIGEST = re.compile(r"^[0-9a-f]{32}$")
CURSOR = re.compile(r"[0-9]{1,16}(:[A-Za-z0-9_]{0,64})?")     # received ms, then an event id
MAX_DIGESTS = 8


@dataclass
class Query:
    """The events list's filters, as the URL gives them. A contact search is in the URL as
    its index digests (`contact`), never as the email or phone, which would reach logs."""

    filters: dict[str, str] = field(default_factory=dict)
    window: str = ""
    contact: list[str] = field(default_factory=list)
    cursor: str = ""

    @classmethod
    def from_args(cls, args: Any) -> Query:
        """The query of a URL or form; a cursor other than one a page gave is a 400."""
        digests = [d for d in args.get("contact", "").split(".") if DIGEST.match(d)]
        cursor = args.get("cursor", "")
        if cursor and not CURSOR.fullmatch(cursor):
            abort(400, "This link to older events is broken: the part that says where the "
                       "page starts was changed or cut off. Start again from the newest events.")
        return cls({f: args[f] for f in FILTERS if args.get(f)},
                   args.get("window", "") if args.get("window") in WINDOWS else "",
                   digests[:MAX_DIGESTS], cursor)

    def args(self) -> dict[str, str]:
        """The query as URL arguments."""
        out = {**self.filters, "window": self.window, "contact": ".".join(self.contact)}
        return {k: v for k, v in out.items() if v}


def candidates(store: Store, query: Query) -> Iterator[tuple[str, int]]:
    """(event id, received ms), newest first, from the contact index when searching, else
    from the events-by-time index; from the cursor on."""
    low = now_ms(store.clock) - WINDOWS[query.window] * 1000 if query.window else 0
    top, after = _cursor(query.cursor)
    if query.contact:
        yield from _by_contact(store, query.contact, low, top, after)
        return
    offset = 0
    while True:
        chunk = store.recent_events(top, low, offset=offset, count=CHUNK)
        for item in chunk:
            if not _seen(item, top, after):
                yield item
        if len(chunk) < CHUNK:
            return
        offset += CHUNK


def _by_contact(store: Store, digests: list[str], low: float, top: float, after: str
                ) -> Iterator[tuple[str, int]]:
    """The contact index's events, a day at a time, each day's newest first; read only as far
    as the page goes."""
    if not store.index:
        return
    days = store.index.days(now_ms(store.clock), top, low)
    for ids in store.search_contacts(digests, days):
        found = [item for at in range(0, len(ids), CHUNK)
                 for item in store.received(ids[at:at + CHUNK]).items()]
        ranked = sorted(((eid, at) for eid, at in found if low <= at <= top),
                        key=lambda item: (item[1], item[0]), reverse=True)
        yield from (c for c in ranked if not _seen(c, top, after))


def left_out(store: Store, query: Query) -> list[tuple[str, int]]:
    """The days (UTC dates, newest first) on which a searched contact had more events than
    it is found by (defaults.CONTACT_DAY_LIMIT), and how many more."""
    if not query.contact or not store.index:
        return []
    low = now_ms(store.clock) - WINDOWS[query.window] * 1000 if query.window else 0
    days = store.index.days(now_ms(store.clock), _cursor(query.cursor)[0], low)
    return [(datetime.fromtimestamp(day * 86_400, UTC).date().isoformat(), n)
            for day, n in store.left_out(query.contact, days).items()]


def _cursor(cursor: str) -> tuple[float, str]:
    if not CURSOR.fullmatch(cursor):
        return float("inf"), ""
    score, _, after = cursor.partition(":")
    return int(score), after


def _seen(item: tuple[str, int], top: float, after: str) -> bool:
    """Already on an earlier page: at the cursor's time, at or before the cursor's id."""
    return bool(after) and item[1] == top and item[0] >= after


def find_events(store: Store, query: Query, *,
                limit: int = defaults.CONSOLE_PAGE_SIZE,
                scan_limit: int = defaults.CONSOLE_SCAN_LIMIT
                ) -> tuple[list[dict[str, str]], str]:
    """A page of matching events, newest first, and the cursor of the next page ('' at the
    end). A page stops early after scan_limit events, so a rare filter never blocks."""
    page: list[dict[str, str]] = []
    batch: list[tuple[str, int]] = []
    scanned, last = 0, ""
    for item in candidates(store, query):
        batch.append(item)
        scanned += 1
        if len(batch) == CHUNK or scanned >= scan_limit:
            last = _take(store, batch, query, page, limit)
            batch = []
            if len(page) >= limit or scanned >= scan_limit:
                return page, last
    if batch:
        last = _take(store, batch, query, page, limit)
        if len(page) >= limit:
            return page, last
    return page, ""


def _take(store: Store, batch: list[tuple[str, int]], query: Query,
          page: list[dict[str, str]], limit: int) -> str:
    """Add the batch's matching events to the page; the cursor where the page stopped."""
    last = ""
    for (eid, score), event in zip(batch, store.events([e for e, _ in batch]), strict=True):
        last = f"{score}:{eid}"
        record = event.to_fields() if event else {}
        if record and all(record.get(k) == v for k, v in query.filters.items()):
            page.append(record)
            if len(page) >= limit:
                break
    return last


# -- contacts -------------------------------------------------------------------------------
def contacts(record: dict[str, str]) -> dict[str, str]:
    """The lead's name, email and phone (empty before a Meta lead is fetched)."""
    lead = json.loads(record.get("lead") or "{}")
    return {k: str(lead[k]) for k in ("contact_name", "contact_email", "contact_phone")
            if lead.get(k)}


def masked(record: dict[str, str]) -> dict[str, str]:
    """j***@example.com, +1 ***-***-0100, J*** R***."""
    out = {}
    for name, value in contacts(record).items():
        if name == "contact_email":
            local, _, domain = value.partition("@")
            out[name] = f"{local[:1]}***@{domain}"
        elif name == "contact_phone":
            out[name] = _masked_phone(value)
        else:
            out[name] = " ".join(f"{word[:1]}***" for word in value.split())
    return out


def _masked_phone(e164: str) -> str:
    try:
        code = phonenumbers.parse(e164).country_code
    except phonenumbers.NumberParseException:
        return "***" + e164[-2:]
    return f"+{code} ***-***-{e164[-4:]}"


def masked_row(record: dict[str, str]) -> dict[str, Any]:
    """The MEGA row as sent (bulk rows carry row_ref), its contact masked."""
    row: dict[str, Any] = json.loads(record.get("lead") or "{}")
    row.update(masked(record))
    if record.get("endpoint") == "bulk":
        row = {"row_ref": record["id"], **row}
    return row


def masked_json(text: str | None) -> Any:
    """A stored JSON field (unmapped provider fields, warnings) with any contact masked."""
    value = json.loads(text or "null")
    if isinstance(value, dict):
        return {k: mask(v) if isinstance(v, str) else v for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v) if isinstance(v, str) else v for v in value]
    return value
