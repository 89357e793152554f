"""megasim's in-memory CRM: leads with email/phone dedup, idempotency cache, rate windows."""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from megasim.config import ApiKey, SimConfig, Tenant

NON_DIGITS = re.compile(r"\D")
Scope = tuple[str, str, str]          # customer id, endpoint, Idempotency-Key
REQUEST_LOG_SIZE = 20_000


def phone_key(phone: str | None) -> str | None:
    """MEGA matches phones on their last 10 digits."""
    digits = NON_DIGITS.sub("", phone or "")
    return digits[-10:] if len(digits) >= 7 else None


def email_key(email: str | None) -> str | None:
    """An email as leads are matched on it (trimmed, lower case)."""
    return email.strip().lower() if email else None


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Window:
    started: float
    count: int = 0


@dataclass(frozen=True)
class RateStatus:
    limit: int
    remaining: int
    reset_s: int
    allowed: bool

    def headers(self) -> dict[str, str]:
        """The RateLimit-* (and Retry-After) headers of this decision."""
        out = {"RateLimit-Limit": str(self.limit), "RateLimit-Remaining": str(self.remaining),
               "RateLimit-Reset": str(self.reset_s)}
        if not self.allowed:
            out["Retry-After"] = str(self.reset_s)
        return out


class SimState:
    """Everything megasim holds; every method is safe under a threaded server."""

    def __init__(self, config: SimConfig, *, clock: Callable[[], float] = time.monotonic):
        self.config = config
        self.keys: dict[str, ApiKey] = dict(config.keys)
        self.lock = threading.RLock()
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        """Forget every lead, idempotency key, count and logged request."""
        with self.lock:
            self.leads: dict[str, dict[str, dict[str, Any]]] = {c: {} for c in self.config.tenants}
            self._by_email: dict[str, dict[str, str]] = {c: {} for c in self.config.tenants}
            self._by_phone: dict[str, dict[str, str]] = {c: {} for c in self.config.tenants}
            self.idempotency: dict[Scope, tuple[str, int, dict[str, Any], float]] = {}
            self.in_progress: set[Scope] = set()
            self._windows: dict[tuple[str, str], Window] = {}
            self.counts: Counter[tuple[str, str]] = Counter()
            self.request_log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_SIZE)

    # -- rate limits ---------------------------------------------------------------------
    def take_rate(self, tenant: Tenant, endpoint: str) -> RateStatus:
        """Count one request in the tenant's window for this endpoint class."""
        limits = tenant.limits
        limit = limits.bulk_per_window if endpoint == "bulk" else limits.single_per_window
        now = self._clock()
        with self.lock:
            window = self._windows.get((tenant.customer_id, endpoint))
            if window is None or now - window.started >= limits.window_s:
                window = self._windows[(tenant.customer_id, endpoint)] = Window(now)
            reset_s = max(1, math.ceil(window.started + limits.window_s - now))
            if window.count >= limit:
                return RateStatus(limit, 0, reset_s, allowed=False)
            window.count += 1
            return RateStatus(limit, limit - window.count, reset_s, allowed=True)

    # -- idempotency ---------------------------------------------------------------------
    def cached(self, scope: Scope) -> tuple[str, int, dict[str, Any]] | None:
        """The stored answer of a key, until it is older than key_retention_hours."""
        with self.lock:
            hit = self.idempotency.get(scope)
            if hit is None:
                return None
            if self._clock() - hit[3] > self.config.key_retention_hours * 3600:
                del self.idempotency[scope]
                return None
            return hit[:3]

    def remember(self, scope: Scope, fingerprint: str, status: int,
                 body: dict[str, Any]) -> None:
        """Keep an answer under its idempotency scope (the first one stays)."""
        with self.lock:
            self.idempotency.setdefault(scope, (fingerprint, status, body, self._clock()))

    def begin(self, scope: Scope) -> bool:
        """Mark a key's request as in progress; False if one already is."""
        with self.lock:
            if scope in self.in_progress:
                return False
            self.in_progress.add(scope)
            return True

    def end(self, scope: Scope) -> None:
        """The key's request has been answered (or its client went away)."""
        with self.lock:
            self.in_progress.discard(scope)

    # -- leads ---------------------------------------------------------------------------
    def match(self, cid: str, row: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """The existing lead this row merges into, and whether email or phone found it."""
        email, phone = email_key(row.get("contact_email")), phone_key(row.get("contact_phone"))
        if email and email in self._by_email[cid]:
            return self.leads[cid][self._by_email[cid][email]], "email"
        if phone and phone in self._by_phone[cid]:
            return self.leads[cid][self._by_phone[cid][phone]], "phone"
        return None, None

    def upsert(self, tenant: Tenant, row: dict[str, Any], *, on_duplicate: str = "update",
               dry_run: bool = False) -> tuple[str, dict[str, Any] | None, str | None]:
        """Create or merge one validated row: (status, lead, matched_by)."""
        cid = tenant.customer_id
        with self.lock:
            existing, matched_by = self.match(cid, row)
            if existing is not None and on_duplicate == "skip":
                return "skipped", existing, matched_by
            if dry_run:
                return ("updated" if existing else "created"), existing, matched_by
            if existing is not None:
                self._merge(existing, tenant, row)
                self._index(cid, existing)
                return "updated", existing, matched_by
            lead = self._new_lead(tenant, row)
            self.leads[cid][lead["id"]] = lead
            self._index(cid, lead)
            return "created", lead, None

    def _index(self, cid: str, lead: dict[str, Any]) -> None:
        email, phone = email_key(lead.get("contact_email")), phone_key(lead.get("contact_phone"))
        if email:
            self._by_email[cid].setdefault(email, lead["id"])
        if phone:
            self._by_phone[cid].setdefault(phone, lead["id"])

    def _new_lead(self, tenant: Tenant, row: dict[str, Any]) -> dict[str, Any]:
        now = _now_iso()
        lead: dict[str, Any] = {
            "id": str(uuid.uuid4()), "customer_id": tenant.customer_id,
            "source_platform": row.get("source_platform"), "source_type": row.get("source_type"),
            "status": "new", "created_at": now, "updated_at": now,
            "contact_name": None, "contact_phone": None, "contact_email": None,
            "score": None, "qualified": False, "current_stage": None, "owner": None,
            "lead_line": None, "last_interaction_at": None, "interaction_count": 0,
            "custom_fields": {},
        }
        self._merge(lead, tenant, {"stage_slug": tenant.stages[0]["slug"], **row})
        return lead

    def _merge(self, lead: dict[str, Any], tenant: Tenant, row: dict[str, Any]) -> None:
        for name in ("contact_name", "contact_phone", "contact_email", "source_platform",
                     "source_type", "lead_line"):
            if row.get(name) is not None:
                lead[name] = row[name]
        if row.get("stage_slug"):
            lead["current_stage"] = stage_object(tenant, row["stage_slug"])
        if row.get("owner_id"):
            lead["owner"] = next(m for m in tenant.team if m["id"] == str(row["owner_id"]))
        known = set(tenant.custom_fields)
        lead["custom_fields"].update(
            {k: v for k, v in (row.get("custom_fields") or {}).items() if k in known})
        lead["updated_at"] = _now_iso()

    def all_leads(self, cid: str | None = None) -> list[dict[str, Any]]:
        """Copies of the stored leads, of one customer or all."""
        with self.lock:
            chosen = [cid] if cid else list(self.leads)
            return [dict(lead) for c in chosen for lead in self.leads.get(c, {}).values()]

    # -- inspection ----------------------------------------------------------------------
    def record(self, endpoint: str, status: str, entry: dict[str, Any]) -> None:
        """Count one answer and log its request."""
        with self.lock:
            self.counts[(endpoint, status)] += 1
            self.request_log.append({"endpoint": endpoint, "status": status, **entry})


def stage_object(tenant: Tenant, slug: str) -> dict[str, str]:
    """A stage of the tenant's pipeline as MEGA returns it."""
    stage = next(s for s in tenant.stages if s["slug"] == slug)
    stage_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant.customer_id}/{slug}"))
    return {"id": stage_id, **stage}


def fingerprint(data: Any) -> str:
    """A body's identity for the idempotency check: its canonical JSON."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, separators=(",", ":"))
                          .encode()).hexdigest()
