"""The event: one accepted lead event, its key, and the one way a new one is made.

The store keeps an event as a flat hash of strings ({p}:event:{id}); `to_fields` and
`from_fields` are the only crossings of that boundary. The nine base fields are typed; the
rest (the lead, the webhook's own fields, an import's row, an outcome) ride in `extra` under
their field names (docs/redis-keys.md); Redis stores the long ones short and not the id
(records.SHORT_NAMES), and a compacted event reads back as its tombstone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

STATUSES = ("pending", "in_flight", "held", "delivered", "dead", "test")
DEAD_REASONS = ("rejected", "conflict", "expired", "key_expired", "lead_unavailable")


def event_id(customer: str, source: str, provider_id: str) -> str:
    """The event key (customer, source, provider id) as a short stable id."""
    raw = f"{customer}\x1f{source}\x1f{provider_id}".encode()
    return "evt_" + hashlib.sha256(raw).hexdigest()[:32]


@dataclass(slots=True)
class Event:
    """{p}:event:{id}: one accepted event."""

    id: str
    customer: str
    route: str
    source: str
    provider_id: str
    status: str                 # STATUSES
    received_at: int            # ms
    attempts: int = 0           # failed attempts (the API's failed_attempts): those counted
                                # towards the retry limit, over all its deliveries
    replays: int = 0            # times replayed; part of a new idempotency key
    # the other fields, by their hash names: lead (the MEGA row, JSON; absent until
    # enriched), warnings, unmapped, fields (the webhook's own, JSON), enrich (a source's step
    # runs first), last_error, replay_key, replay_reason, request_key, outcome, endpoint,
    # lead_id, matched_by, ignored_custom_fields, delivery_warning, mega_status, mega_body,
    # dead_reason (DEAD_REASONS), error, finished_at (ms), log (its last MEGA calls),
    # mega_calls (how many MEGA calls were made for it, all kept count of),
    # compacted (ms; set: only records.TOMBSTONE_FIELDS are left, from the tombstone
    # buckets); an import's bulk_only...
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def lead(self) -> str:
        """The MEGA lead row as JSON ("" until a source's enrichment step built it)."""
        return self.extra.get("lead", "")

    def to_fields(self) -> dict[str, str]:
        """The hash the store keeps."""
        return {"id": self.id, "customer": self.customer, "route": self.route,
                "source": self.source, "provider_id": self.provider_id, "status": self.status,
                "received_at": str(self.received_at), "attempts": str(self.attempts),
                "replays": str(self.replays), **self.extra}

    @classmethod
    def from_fields(cls, raw: Mapping[str, str]) -> Event:
        """The event from its stored hash (KeyError without an id: no such event); a field
        missing reads as empty, as the hash would give it."""
        rest = {k: v for k, v in raw.items() if k not in BASE}
        text = {name: raw.get(name, "") for name in ("customer", "route", "source",
                                                     "provider_id", "status")}
        return cls(raw["id"], **text, received_at=int(raw.get("received_at") or 0),
                   attempts=int(raw.get("attempts") or 0),
                   replays=int(raw.get("replays") or 0), extra=rest)


BASE = frozenset(Event.__dataclass_fields__) - {"extra"}


@dataclass(frozen=True, slots=True)
class Outcome:
    """One event's terminal record: delivered or dead, and what MEGA said.

    A field left None is not written; the others go into the event's hash under their names
    (an empty string is written as one, as MEGA's answer gave it)."""

    status: str                           # "delivered" or "dead"
    dead_reason: str | None = None        # DEAD_REASONS
    endpoint: str | None = None           # single, bulk
    outcome: str | None = None            # MEGA's word for a row: created, updated, skipped
    lead_id: str | None = None
    matched_by: str | None = None
    ignored_custom_fields: str | None = None     # JSON list
    delivery_warning: str | None = None
    error: str | None = None
    mega_status: str | None = None
    mega_body: str | None = None

    @property
    def delivered(self) -> bool:
        """Whether MEGA has the lead (else it is a dead letter)."""
        return self.status == "delivered"

    def to_fields(self) -> dict[str, str]:
        """The event fields it sets."""
        return {name: value for name in OUTCOME_FIELDS
                if (value := getattr(self, name)) is not None}


OUTCOME_FIELDS = tuple(Outcome.__dataclass_fields__)


def new_event(*, customer: str, route: str, source: str, provider_id: str,
              received_at_ms: int, test: bool = False, **fields: str) -> Event:
    """A new event, not yet stored: pending (or a provider's test), no attempt, no replay."""
    return Event(event_id(customer, source, provider_id), customer, route, source,
                 provider_id, "test" if test else "pending", received_at_ms, extra=fields)
