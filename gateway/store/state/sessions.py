"""Console sessions and sign-in counts in Redis (gateway/web/console/sessions.py says what
they are for): a session's record under a digest of its id, expiring with the sign-in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gateway import defaults
from gateway.store.keys import Keys
from gateway.store.scripts import register


class Sessions:
    """Console sessions (by the digest that names them) and sign-in attempts (by client tag)."""

    def __init__(self, client: Any, keys: Keys, clock: Callable[[], float]):
        self.redis, self.keys, self.clock = client, keys, clock
        self._set_live = register(client, "session_set")
        self._count = register(client, "signin_count")

    def start(self, handle: str) -> None:
        """A new session's record, written to expire with the sign-in."""
        key = self.keys.console_session(handle)
        pipe = self.redis.pipeline(transaction=True)
        pipe.hset(key, "exp", repr(self.clock() + defaults.CONSOLE_SESSION_S))
        pipe.expire(key, defaults.CONSOLE_SESSION_S)
        pipe.execute()

    def record(self, handle: str) -> dict[str, str]:
        """The session's record as stored ({} when there is none)."""
        raw = self.redis.hgetall(self.keys.console_session(handle))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def end(self, handle: str) -> None:
        """Delete the session's record."""
        self.redis.delete(self.keys.console_session(handle))

    def set_live(self, handle: str, field: str, value: str) -> None:
        """Write a field of a live session only: one revoked meanwhile is not brought back."""
        self._set_live(keys=[self.keys.console_session(handle)], args=[field, value])

    def count_signin(self, client_tag: str) -> int:
        """Count one sign-in attempt of the client in its window: its attempts, this one in."""
        return int(self._count(keys=[self.keys.signin_failures(client_tag)],
                               args=[defaults.SIGNIN_WINDOW_S]))

    def forgive_signin(self, client_tag: str) -> None:
        """Take one attempt back (a sign-in that succeeded)."""
        self.redis.decr(self.keys.signin_failures(client_tag))
