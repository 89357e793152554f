"""Reconciliation's state in Redis: per route, a lock (a token that expires) and a hash of
watermarks, counts and backoff. Watermarks move only while the mover holds the lock."""

from __future__ import annotations

from typing import Any

from gateway.store.keys import Keys
from gateway.store.scripts import register


class Reconciliations:
    """Routes' reconciliation locks and state (gateway/store/keys.py: reconcile, -lock)."""

    def __init__(self, client: Any, keys: Keys):
        self.redis, self.keys = client, keys
        self._renew = register(client, "lock_renew")
        self._release = register(client, "lock_release")
        self._locked_hset = register(client, "locked_hset")

    def next_at_ms(self, routes: list[str]) -> list[int]:
        """When each route's next reconciliation is due (ms; 0: at once)."""
        pipe = self.redis.pipeline(transaction=False)
        for route in routes:
            pipe.hget(self.keys.reconcile(route), "next_at_ms")
        return [int(at or 0) for at in pipe.execute()]

    def lock(self, route: str, token: str, ttl_ms: int) -> bool:
        """Take the route's lock for token, unless another holds it."""
        return bool(self.redis.set(self.keys.reconcile_lock(route), token, nx=True, px=ttl_ms))

    def renew(self, route: str, token: str, ttl_ms: int) -> bool:
        """Extend the lock while token holds it; False once it is lost."""
        return bool(self._renew(keys=[self.keys.reconcile_lock(route)], args=[token, ttl_ms]))

    def release(self, route: str, token: str) -> None:
        """Drop the lock if token still holds it."""
        self._release(keys=[self.keys.reconcile_lock(route)], args=[token])

    def add_failure(self, route: str) -> int:
        """One more failed run in a row: how many now."""
        return int(self.redis.hincrby(self.keys.reconcile(route), "failures", 1))

    def update(self, route: str, fields: dict[str, Any]) -> None:
        """Set fields of the route's state (last run, errors, next_at_ms...)."""
        self.redis.hset(self.keys.reconcile(route), mapping=fields)

    def count(self, route: str, seen: int, missed: int, rules: dict[str, int]) -> None:
        """Add a page's leads to the route's totals."""
        key = self.keys.reconcile(route)
        pipe = self.redis.pipeline(transaction=False)
        pipe.hincrby(key, "seen", seen)
        pipe.hincrby(key, "missed", missed)
        for rule, n in rules.items():
            pipe.hincrby(key, f"matched:{rule}", n)
        pipe.execute()

    def watermark(self, route: str, stream: str) -> int | None:
        """Where the stream's last listing ended (s), or None."""
        mark = self.redis.hget(self.keys.reconcile(route), f"wm:{stream}")
        return int(mark) if mark else None

    def move_watermark(self, route: str, stream: str, token: str, until: int) -> bool:
        """Move the stream's watermark, only while token holds the route's lock."""
        return bool(self._locked_hset(keys=[self.keys.reconcile_lock(route),
                                            self.keys.reconcile(route)],
                                      args=[token, f"wm:{stream}", until]))
