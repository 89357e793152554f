"""Console sessions kept in Redis, so that signing out revokes them.

The signed cookie holds a random session id and the CSRF token, nothing else. The record lives
under a digest of the id (a Redis reader learns no cookie value), expires with the sign-in, and
keeps the expiry by the app's clock and the last contact search (shown above its results).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

from gateway.store.store import Store


def handle(sid: str) -> str:
    """What names a session in Redis and in logs: a digest of its id, never the id itself."""
    return hashlib.sha256(sid.encode()).hexdigest()[:32]


def start(store: Store) -> str:
    """A new session's id, its record written to expire with the sign-in."""
    sid = secrets.token_urlsafe(32)
    store.sessions.start(handle(sid))
    return sid


def load(store: Store, sid: Any) -> dict[str, str] | None:
    """The session's record while it is signed in (by the app's clock), else None."""
    if not isinstance(sid, str) or not sid:
        return None
    record = store.sessions.record(handle(sid))
    if float(record.get("exp") or 0) <= store.clock():
        return None
    return record


def end(store: Store, sid: Any) -> None:
    """Revoke the session: a copy of its cookie signs in no more."""
    if isinstance(sid, str) and sid:
        store.sessions.end(handle(sid))


def remember_search(store: Store, sid: str, q: str, contact: str) -> None:
    """Keep the last search (what was typed, and its digests) with the session, until the next
    search or the session's end."""
    store.sessions.set_live(handle(sid), "search", json.dumps({"q": q, "contact": contact}))


def last_search(record: dict[str, str]) -> dict[str, str]:
    """The search remembered by remember_search, or {}."""
    found = json.loads(record.get("search") or "{}")
    return found if isinstance(found, dict) else {}


def count_signin(store: Store, client_tag: str) -> int:
    """Count a sign-in attempt of this client in its window, before its token is checked: how
    many it has made in the window, this one included."""
    return store.sessions.count_signin(client_tag)


def forgive_signin(store: Store, client_tag: str) -> None:
    """A sign-in that succeeded is no failure: its count is taken back."""
    store.sessions.forgive_signin(client_tag)
