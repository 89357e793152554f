"""leadgate's records as types, beside the key names in gateway/store/keys.py.

    Event          {p}:event:{id}          one accepted event (gateway/domain/event.py)
    CustomerState  {p}:customer:{name}     holds, pauses, rate-limit budget, counters
    Batch          {p}:batch:{customer}    a customer's in-flight batch (frozen once sent)
    SentRequest    {p}:request:{key}       a sent request kept for replays under its key
    Replay         (the answer of a replay: which events go out again, under which key, why)
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway.domain.event import Outcome

# What a compacted event keeps (its tombstone, besides `compacted`: when, ms): enough to answer
# a resend as a duplicate and to show where the lead went.
TOMBSTONE_FIELDS = ("id", "status", "customer", "route", "source", "provider_id", "received_at",
                    "finished_at", "lead_id", "outcome")
CHUNK_MARK = b"\0"                # a value stored in chunks: b"\0<n>" (keys.py: EVENT_FIELDS)
# Event fields the hash keeps under a short name (a listpack pays for every name on every
# record; keys.py: EVENT_FIELDS maps them, `unpacked` maps them back). The id is the key's.
# The others keep their names, which scripts and readers use directly (status, attempts,
# replays, received_at, compacted, enrich...).
SHORT_NAMES = {"customer": "c", "route": "r", "source": "s", "provider_id": "p", "lead": "L",
               "unmapped": "u", "warnings": "w", "fields": "f", "log": "g", "outcome": "o",
               "endpoint": "e", "lead_id": "l", "matched_by": "m", "finished_at": "t",
               "ignored_custom_fields": "i", "mega_status": "ms", "mega_body": "mb",
               "last_error": "le", "error": "x", "dead_reason": "dr", "replay_key": "rk",
               "replay_reason": "rr", "request_key": "q", "delivery_warning": "dw",
               "import_row": "ir", "mega_calls": "n"}
LONG_NAMES = {short.encode(): name.encode() for name, short in SHORT_NAMES.items()}
DAY_MS = 86_400_000               # tombstone and contact buckets are by day (ms // DAY_MS)
PACKED_ID = re.compile(r"evt_([0-9a-f]{32})")
CODES = {"d": "delivered", "t": "test", "c": "created", "u": "updated", "s": "skipped"}


def packed_id(eid: str) -> tuple[bytes, str]:
    """An event id as the shared buckets hold it, and its bucket's suffix (keys.py: BUCKETS)."""
    if found := PACKED_ID.fullmatch(eid):
        return bytes.fromhex(found[1]), found[1][:2]
    return eid.encode(), "_"


def unpack_ids(value: bytes) -> list[str]:
    """The event ids of a packed list: a zero byte and an id's 16 bytes, or a byte of length
    and the id."""
    ids, at = [], 0
    while at < len(value):
        size = value[at]
        if size == 0:
            ids.append("evt_" + value[at + 1:at + 17].hex())
            at += 17
        else:
            ids.append(value[at + 1:at + 1 + size].decode(errors="replace"))
            at += 1 + size
    return ids


def tombstone(eid: str, value: bytes) -> dict[str, str]:
    """A compacted event's fields from its packed tombstone (keys.py: TOMBSTONE)."""
    if value[:1] == b"\1" and len(value) >= 18:
        lead, rest = str(uuid.UUID(bytes=value[1:17])), value[18:]
    else:
        raw, _, rest = value.partition(b"\x1f")
        lead = raw.decode(errors="replace")
    parts = rest.decode(errors="replace").split("\x1f", 8)
    status, outcome, customer, route, source, received, finished, compacted, provider = \
        (parts + [""] * 9)[:9]
    at = int(received, 36) if received else 0
    done = at + int(finished, 36) if finished else None
    fields = {"id": eid, "status": CODES.get(status, status), "customer": customer,
              "route": route, "source": source, "provider_id": provider,
              "received_at": str(at), "finished_at": "" if done is None else str(done),
              "lead_id": lead, "outcome": CODES.get(outcome, outcome),
              "compacted": str((done or at) + int(compacted or "0", 36))}
    return {name: value for name, value in fields.items() if value}


def unpacked(raw: dict[bytes, bytes]) -> dict[str, str]:
    """An event hash as its fields: short names long again, chunked values joined (keys.py:
    EVENT_FIELDS)."""
    out: dict[str, str] = {}
    chunked = {name for name, value in raw.items()
               if value[:1] == CHUNK_MARK and value[1:].isdigit()}
    for name, value in raw.items():
        base, _, part = name.rpartition(b"~")
        if part.isdigit() and base in chunked:
            continue
        if name in chunked:
            value = b"".join(raw.get(b"%s~%d" % (name, i), b"")
                             for i in range(1, int(value[1:]) + 1))
        out[LONG_NAMES.get(name, name).decode()] = value.decode(errors="replace")
    return out


def mega_calls(fields: dict[str, str]) -> int:
    """How many MEGA calls were made for an event: its counter (`mega_calls`), or more if its
    timeline (`log`, the last few calls) kept more, or 1 for an answer MEGA gave: so on a
    record written before the counter was (it has none, or counts only the calls since)."""
    logged = fields.get("log", "").count(MEGA_NOTE)
    answered = fields.get("status") == "delivered" or bool(fields.get("mega_status"))
    return max(int(fields.get("mega_calls") or 0), logged, int(answered))


MEGA_NOTE = '"kind":"mega"'           # in each MEGA call's line on the timeline (outcomes.py)
Outcomes = dict[str, Outcome]           # event id -> its terminal record


STATE_FIELDS = ("hold_until", "hold_reason", "blocked", "last_error", "last_success_at",
                "delivered", "dead")
STATE_PREFIXES = ("parked:", "parked_reason:", "rl:")


@dataclass(frozen=True)
class CustomerState:
    """{p}:customer:{name}: why it waits, its held routes, MEGA's rate budget, counters."""

    hold_until: int = 0                    # ms; no flush before (429, backoff)
    hold_reason: str = ""                  # rate_limited, retrying, credentials, meta_...
    blocked: str = ""                      # the customer's credentials fail: why
    last_error: str = ""
    last_success_at: int = 0               # ms
    delivered: int = 0
    dead: int = 0
    parked: dict[str, tuple[int, str]] = field(default_factory=dict)  # route: (retry ms, why)
    rate: dict[str, tuple[str, int]] = field(default_factory=dict)    # endpoint: (left, reset)

    @classmethod
    def from_hash(cls, raw: dict[str, str]) -> CustomerState:
        """The state from its hash (field names: STATE_FIELDS and STATE_PREFIXES)."""
        def number(name: str) -> int:
            return int(raw.get(name) or 0)

        parked = {name[7:]: (int(value), raw.get(f"parked_reason:{name[7:]}", ""))
                  for name, value in raw.items() if name.startswith("parked:")}
        rate = {name.split(":")[1]: (value, int(raw.get(f"rl:{name.split(':')[1]}:reset_at",
                                                        "0")))
                for name, value in raw.items()
                if name.startswith("rl:") and name.endswith(":remaining")}
        return cls(number("hold_until"), raw.get("hold_reason", ""), raw.get("blocked", ""),
                   raw.get("last_error", ""), number("last_success_at"), number("delivered"),
                   number("dead"), parked, rate)


def state_field(name: str) -> str:
    """A customer-state field name, checked: no field is made up on the spot."""
    if name not in STATE_FIELDS and not name.startswith(STATE_PREFIXES):
        raise ValueError(f"not a customer-state field: {name}")
    return name


def now_ms(clock: Callable[[], float] = time.time) -> int:
    return int(clock() * 1000)


class MalformedBatch(ValueError):
    """A batch hash that cannot be read; `ids` and `created` are what could be."""

    def __init__(self, message: str, *, ids: list[str], created: int | None):
        super().__init__(message)
        self.ids, self.created = ids, created


@dataclass
class Batch:
    """A customer's in-flight batch; once `body` is set it is frozen and resent unchanged.

    `key_since` is when MEGA first saw `key` (a replay reusing a key inherits it);
    `replay_key` is the key of the request a replay came from, reused if the body is the
    same; `new_key` says an operator asked for a new key on replay."""

    ids: list[str]
    created: int
    attempts: int = 0
    endpoint: str = ""
    key: str = ""
    body: bytes = b""
    key_reason: str = ""
    key_since: int = 0
    replay_key: str = ""
    new_key: bool = False

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> Batch:
        """The batch from its hash; MalformedBatch if a field cannot be read."""
        data = {k.decode(): v for k, v in raw.items()}
        ids = [i for i in data.get("ids", b"").decode(errors="replace").split(",") if i]
        created = data.get("created", b"")
        try:
            return cls(ids=_need(ids), created=int(created),
                       attempts=int(data.get("attempts", b"0")),
                       endpoint=data.get("endpoint", b"").decode(),
                       key=data.get("key", b"").decode(), body=data.get("body", b""),
                       key_reason=data.get("key_reason", b"").decode(),
                       key_since=int(data.get("key_since", b"0") or 0),
                       replay_key=data.get("replay_key", b"").decode(),
                       new_key=data.get("new_key", b"") == b"1")
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedBatch(f"malformed batch record ({exc})", ids=ids,
                                 created=int(created) if created.isdigit() else None) from None


@dataclass
class Answered:
    """What one MEGA answer (or a decision taken without one) leaves, written by the flush's
    lease in one fenced call (Lease.record): the call on each event's timeline and counter, a
    failed attempt counted, terminal outcomes, a split, and the customer's state (rate window
    included; None clears a field)."""

    batch: Batch
    note: dict[str, Any] | None = None
    calls: int = 0                        # MEGA calls it stands for: 0 or 1
    attempt_error: str | None = None
    outcomes: Outcomes = field(default_factory=dict)
    split: bool = False
    state: dict[str, Any] = field(default_factory=dict)


def _need(ids: list[str]) -> list[str]:
    if not ids:
        raise ValueError("no ids")
    return ids


@dataclass(frozen=True)
class SentRequest:
    """A request kept for replays ({p}:request:{key}): the exact bytes MEGA got."""

    endpoint: str
    key: str
    body: bytes
    ids: list[str]
    key_since: int

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> SentRequest | None:
        """The request, or None if it is gone (past key retention) or unreadable."""
        try:
            return cls(raw[b"endpoint"].decode(), raw[b"key"].decode(), raw[b"body"],
                       raw[b"ids"].decode().split(","), int(raw[b"key_since"]))
        except (KeyError, ValueError, UnicodeDecodeError):
            return None


@dataclass(frozen=True)
class Replay:
    """How dead letters go out again: which events, under which key, and why.

    `body` empty: the events go back to the buffer and the worker freezes them anew."""

    ids: list[str]
    key: str
    reason: str
    warning: str = ""
    endpoint: str = ""
    body: bytes = b""
    key_since: int = 0
