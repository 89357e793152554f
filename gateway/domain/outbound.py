"""The exact request MEGA gets for a set of events: its endpoint, body bytes and key.

The worker freezes these before the first send; a replay builds them again to see whether
the body changed since (gateway/store/store.py).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from gateway.domain.event import Event
from gateway.domain.records import Replay, SentRequest
from gateway.domain.tenancy import Customer
from gateway.mega.contract import BULK_ONLY_FIELDS


def endpoint_for(customer: Customer, n: int, *, bulk_only: bool = False) -> str:
    """`auto` sends one lead as a single create (it triggers MEGA's automations), more in bulk.
    Imported rows (`bulk_only`) always go in bulk, where MEGA keeps them inert."""
    if bulk_only:
        return "bulk"
    if customer.delivery == "auto":
        return "single" if n == 1 else "bulk"
    return customer.delivery


def bulk_only(events: Sequence[Event]) -> bool:
    """Whether these events are imported rows, which go in bulk only."""
    return any(e.extra.get("bulk_only") for e in events)


def delivery_kind(event: Event) -> tuple[str, str]:
    """What must be alike in one request: bulk-only (imported) or not, and on_duplicate."""
    return event.extra.get("bulk_only", ""), event.extra.get("on_duplicate", "")


def alike_prefix(events: Sequence[Event]) -> int:
    """How many leading events share the first one's kind: an import's rows never share a
    request with other leads, so each import's on_duplicate and bulk-only hold."""
    first = delivery_kind(events[0])
    return next((i for i, e in enumerate(events) if delivery_kind(e) != first), len(events))


def idempotency_key(endpoint: str, events: Sequence[Event]) -> str:
    """Stable across retries; a replayed dead letter (replays > 0) gets a new one."""
    parts = sorted(f"{e.id}:{e.replays}" for e in events)
    if endpoint == "single":
        (part,) = parts
        eid, replays = part.split(":")
        return f"lg-{eid[4:]}" + (f"-r{replays}" if replays != "0" else "")
    return "lgb-" + hashlib.sha256(",".join(parts).encode()).hexdigest()[:40]


def request_body(customer: Customer, endpoint: str, events: Sequence[Event]) -> bytes:
    """The exact bytes sent (and resent) for these events."""
    leads = [json.loads(e.extra["lead"]) for e in events]
    payload: dict[str, Any]
    if endpoint == "single":
        payload = {k: v for k, v in leads[0].items() if k not in BULK_ONLY_FIELDS}
    else:
        # an import's own on_duplicate, else the customer's
        on_duplicate = events[0].extra.get("on_duplicate") or customer.on_duplicate
        payload = {"on_duplicate": on_duplicate, "dry_run": False,
                   "leads": [{"row_ref": e.id, **lead}
                             for e, lead in zip(events, leads, strict=True)]}
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def single_drops(lead_json: str) -> list[str]:
    """Fields the single endpoint does not take; the outcome warns about them."""
    return sorted(set(json.loads(lead_json)) & set(BULK_ONLY_FIELDS))


MAY_DUPLICATE = "a new key may create a second lead if MEGA committed the first request"


def replay_plan(customer: Customer, events: Sequence[Event], sent: SentRequest | None,
                *, was_sent: bool, new_key: bool = False) -> Replay:
    """Which key a replay uses: the original one while the body is unchanged, else a new one."""
    ids = [e.id for e in events]
    if not all(e.lead for e in events) or not was_sent:
        return Replay(ids, "", "never sent: a new key when the worker sends it")
    endpoint = endpoint_for(customer, len(events), bulk_only=bulk_only(events))
    body = request_body(customer, endpoint, events)
    refused = all(e.extra.get("dead_reason") == "rejected" for e in events)
    if sent is not None and not new_key and not refused and \
            (sent.endpoint, sent.body) == (endpoint, body):
        return Replay(ids, sent.key, "body unchanged: the original key, so MEGA answers with "
                                     "what it stored if it had committed", "", endpoint, body,
                      sent.key_since)
    renewed = [replace(e, replays=e.replays + 1) for e in events]
    key = idempotency_key(endpoint, renewed)
    if new_key:
        return Replay(ids, key, "a new key, as asked", MAY_DUPLICATE, endpoint, body)
    if refused:     # MEGA's stored answer to the original key would be the refusal again
        return Replay(ids, key, "MEGA refused it, so nothing was created: a new key, so MEGA "
                                "judges it again", "", endpoint, body)
    if sent is None:
        return Replay(ids, key, "the original request is past key retention: a new key",
                      MAY_DUPLICATE, endpoint, body)
    if sorted(ids) != sorted(sent.ids):
        return Replay(ids, key, "the rest of its request was delivered: a new key for the "
                                "dead letters alone", "", endpoint, body)
    return Replay(ids, key, "body changed since the first send: a new key", "", endpoint, body)
