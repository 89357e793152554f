"""Where reconciliation finds a Google route's webhook leads again when the API's id may differ
from the webhook's `lead_id`: by form + gclid, or by form + keyed contact digest, near a time.

One sorted set per route, scored by submission time (unix seconds), one member per webhook lead:
`event id|form id|gclid digest|contact digest,contact digest`; a lead reconciliation stored
(the webhook missed it, or has not come yet) ends in `|listed`, so that a webhook coming later
under another id is found to be that lead. The gclid is hashed and the
contacts are the console index's keyed HMAC digests (gateway/store/index.py), shortened:
nothing in it names a person. Entries older than GOOGLE_MATCH_KEEP_DAYS are trimmed on each write.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import redis

from gateway import defaults
from gateway.domain.leads import normalize
from gateway.domain.sources.base import Draft
from gateway.domain.sources.twins import Twin
from gateway.errors import StoreUnavailable
from gateway.store.index import Index
from gateway.store.keys import Keys
from gateway.store.replies import scored

DIGEST_CHARS = 16
log = logging.getLogger("leadgate.intake")


@dataclass(frozen=True)
class Stored:
    """A webhook lead as the match lookup keeps it."""

    event_id: str
    form_id: str
    submitted: float                   # unix seconds
    gclid: str = ""                    # its digest
    contacts: tuple[str, ...] = ()     # shortened keyed contact digests
    listed: bool = False               # stored by reconciliation, not by its webhook

    @property
    def member(self) -> str:
        """The sorted-set member that stores this entry."""
        parts = (self.event_id, self.form_id, self.gclid, ",".join(self.contacts))
        return "|".join(parts + (("listed",) if self.listed else ()))

    @classmethod
    def parse(cls, member: str, score: float) -> Stored | None:
        """An entry from its member and score (None: not one this index wrote)."""
        parts = member.split("|")
        if len(parts) not in (4, 5):
            return None
        return cls(parts[0], parts[1], score, parts[2], tuple(c for c in parts[3].split(",")
                                                               if c), parts[4:] == ["listed"])

    def same_lead(self, other: Stored) -> bool:
        """The same form and the same gclid or a shared contact (the time is the caller's)."""
        return bool(self.form_id) and self.form_id == other.form_id and (
            bool(self.gclid and self.gclid == other.gclid) or
            bool(set(self.contacts) & set(other.contacts)))


def gclid_digest(gclid: str) -> str:
    """A gclid as the lookup keeps it (a click id, not a contact; hashed to keep members short)."""
    return hashlib.sha256(gclid.encode()).hexdigest()[:DIGEST_CHARS] if gclid else ""


def contact_digests(index: Index, lead: dict[str, Any], region: str) -> tuple[str, ...]:
    """The shortened keyed digests of a lead's normalized email and phone (none without the
    index's secret)."""
    if index.secret is None:
        return ()
    clean, _ = normalize({k: v for k, v in lead.items()
                          if k in ("contact_email", "contact_phone")}, region)
    return tuple(index.digest(kind, clean[field])[:DIGEST_CHARS]
                 for kind, field in (("email", "contact_email"), ("phone", "contact_phone"))
                 if clean.get(field))


def iso_time(text: Any) -> float | None:
    """The webhook's lead_submit_time ("2026-05-01T12:30:00Z") as unix seconds."""
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def webhook_entry(index: Index, event_id: str, draft: Draft, region: str,
                  received: float) -> Stored:
    """What the lookup keeps of a webhook lead (its submission time, else when received)."""
    submitted = iso_time(draft.fields.get("lead_submit_time"))
    return Stored(event_id, str(draft.fields.get("form_id") or ""),
                  received if submitted is None else submitted,
                  gclid_digest(str(draft.fields.get("gcl_id") or "")),
                  contact_digests(index, draft.lead, region))


@dataclass(frozen=True)
class GoogleMatchIndex:
    """A Google route's webhook leads (and those reconciliation stored), by submission time."""

    client: redis.Redis
    keys: Keys

    def remember(self, route: str, entries: list[Stored], now: float) -> None:
        """Keep webhook leads findable; trim those older than the API keeps submissions."""
        if not entries:
            return
        key, keep_s = self.keys.google_match(route), defaults.GOOGLE_MATCH_KEEP_DAYS * 86400
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(key, {e.member: e.submitted for e in entries})
        pipe.zremrangebyscore(key, "-inf", now - keep_s)
        pipe.expire(key, keep_s)
        pipe.execute()

    def near(self, route: str, at: float, window_s: float = defaults.GOOGLE_MATCH_WINDOW_S,
             limit: int = defaults.GOOGLE_MATCH_SCAN_LIMIT) -> list[Stored]:
        """The route's webhook leads submitted within window_s of `at` (at most `limit`)."""
        found = self.client.zrangebyscore(self.keys.google_match(route), at - window_s,
                                          at + window_s, start=0, num=limit, withscores=True)
        return [s for member, score in scored(found)
                if (s := Stored.parse(member, score)) is not None]

    def listed_twin(self, route: str, entry: Stored) -> Stored | None:
        """The lead reconciliation stored that a webhook lead is: near in time, the same form,
        and the same gclid or a shared contact (None: a lead of its own)."""
        return next((s for s in self.near(route, entry.submitted)
                     if s.listed and s.same_lead(entry)), None)

    def candidates(self, route: str, *, gclid: str, contacts: tuple[str, ...], at: float
                   ) -> tuple[list[Stored], list[Stored]]:
        """(same gclid, a shared contact) among the webhook leads near `at`; the form and the
        exact window are match()'s to check (workers/google/match.py)."""
        near = self.near(route, at)
        wanted = gclid_digest(gclid)
        return ([s for s in near if wanted and s.gclid == wanted],
                [s for s in near if set(s.contacts) & set(contacts)])


class GoogleTwins:
    """Google's twin check for webhook leads (gateway/domain/sources/twins.py): a webhook lead
    that reconciliation stored already under the API's own id is that event's duplicate. The
    event is the store's to keep: a failed look or a failed remember is logged, not answered
    with a 5xx (MEGA then matches the contact)."""

    def twins(self, store: Any, route: Any, leads: list[tuple[Any, str]], now: float
              ) -> dict[str, Twin]:
        """The webhook leads reconciliation stored already: their event id -> that event."""
        if not store.index or not leads:
            return {}
        lookup, found = store.google_match, dict[str, Twin]()
        region = route.settings.default_region
        try:
            for draft, event_id in leads:
                entry = webhook_entry(store.index, event_id, draft, region, now)
                if twin := lookup.listed_twin(route.name, entry):
                    found[event_id] = Twin(twin.event_id, "gclid" if entry.gclid and
                                           entry.gclid == twin.gclid else "contact")
        except StoreUnavailable as exc:
            log.warning("webhook leads not matched against reconciliation's",
                        extra={"route": route.name, "error": type(exc).__name__})
        return found

    def remember(self, store: Any, route: Any, leads: list[tuple[Any, str]], now: float
                 ) -> None:
        """Keep new webhook leads findable by reconciliation."""
        if not store.index or not leads:
            return
        region = route.settings.default_region
        entries = [webhook_entry(store.index, event_id, draft, region, now)
                   for draft, event_id in leads]
        try:
            store.google_match.remember(route.name, entries, now)
        except StoreUnavailable as exc:
            log.warning("webhook leads not kept for reconciliation's matching",
                        extra={"route": route.name, "error": type(exc).__name__})
