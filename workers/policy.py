"""Delivery policy as small pure functions: keys, endpoints, bodies, backoff."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Callable
from typing import Any

from gateway import defaults
from gateway.config import Customer
from gateway.contract import BULK_ONLY_FIELDS


def backoff_s(attempt: int, *, base: float = defaults.BACKOFF_BASE_S,
              cap: float = defaults.BACKOFF_CAP_S,
              rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2^(attempt-1))]."""
    return rand() * min(cap, base * 2 ** max(0, attempt - 1))


def lease_s(mega_timeout_s: float) -> float:
    """How long a flush owns its customer between renewals: longer than one MEGA call."""
    return max(defaults.LEASE_S, 2 * mega_timeout_s + 5)


def take_size(customer: Customer) -> int:
    return 1 if customer.delivery == "single" else customer.max_batch


def endpoint_for(customer: Customer, n: int, *, bulk_only: bool = False) -> str:
    """`auto` sends one lead as a single create (it triggers MEGA's automations), more in bulk.
    Imported rows (`bulk_only`) always go in bulk, where MEGA keeps them inert."""
    if bulk_only:
        return "bulk"
    if customer.delivery == "auto":
        return "single" if n == 1 else "bulk"
    return customer.delivery


def delivery_kind(event: dict[str, str]) -> tuple[str, str]:
    """What must be alike in one request: bulk-only (imported) or not, and on_duplicate."""
    return event.get("bulk_only", ""), event.get("on_duplicate", "")


def alike_prefix(events: list[dict[str, str]]) -> int:
    """How many leading events share the first one's kind: an import's rows never share a
    request with other leads, so each import's on_duplicate and bulk-only hold."""
    first = delivery_kind(events[0])
    return next((i for i, e in enumerate(events) if delivery_kind(e) != first), len(events))


def idempotency_key(endpoint: str, events: list[dict[str, str]]) -> str:
    """Stable across retries; a replayed dead letter (replays > 0) gets a new one."""
    parts = sorted(f"{e['id']}:{e.get('replays', '0')}" for e in events)
    if endpoint == "single":
        (part,) = parts
        eid, replays = part.split(":")
        return f"lg-{eid[4:]}" + (f"-r{replays}" if replays != "0" else "")
    return "lgb-" + hashlib.sha256(",".join(parts).encode()).hexdigest()[:40]


def request_body(customer: Customer, endpoint: str, events: list[dict[str, str]]) -> bytes:
    """The exact bytes sent (and resent) for these events."""
    leads = [json.loads(e["lead"]) for e in events]
    payload: dict[str, Any]
    if endpoint == "single":
        payload = {k: v for k, v in leads[0].items() if k not in BULK_ONLY_FIELDS}
    else:
        on_duplicate = events[0].get("on_duplicate") or customer.on_duplicate  # an import's own
        payload = {"on_duplicate": on_duplicate, "dry_run": False,
                   "leads": [{"row_ref": e["id"], **lead}
                             for e, lead in zip(events, leads, strict=True)]}
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def single_drops(lead_json: str) -> list[str]:
    """Fields the single endpoint does not take; the outcome warns about them."""
    return sorted(set(json.loads(lead_json)) & set(BULK_ONLY_FIELDS))
