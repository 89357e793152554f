"""The delivery role of the store: a flush's writes, each fenced by the flush's lease.

Every write runs in a Lua script that first checks that the flush's token still owns the
customer's lease (gateway/store/keys.py: FENCE). A flush whose lease moved to another worker writes
nothing: the script answers -1 and `LeaseLost` stops the flush.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import redis

from gateway import defaults
from gateway.config import Customer
from gateway.domain.records import SHORT_NAMES, Answered, Batch, Outcomes, now_ms, state_field
from gateway.errors import LeaseLost
from gateway.store.keys import Keys
from gateway.store.scripts import register


class Writes:
    """Redis writes gathered to be applied together by WRITE, keys by index."""

    def __init__(self) -> None:
        self.keys: list[str] = []
        self.ops: list[list[Any]] = []

    def __call__(self, command: str, key: str, *args: Any) -> Writes:
        if key not in self.keys:
            self.keys.append(key)
        values = [a.decode() if isinstance(a, bytes) else str(a) for a in args]
        self.ops.append([command, self.keys.index(key) + 2, *values])  # KEYS[1]: owners
        return self

    def hset(self, key: str, fields: dict[str, Any]) -> Writes:
        """Add an HSET of these fields."""
        return self("HSET", key, *(x for pair in fields.items() for x in pair))

    def event(self, key: str, fields: dict[str, Any]) -> Writes:
        """An event's fields, a long value in chunks (keys.py: EVENT_FIELDS)."""
        return self("EVSET", key, *(x for pair in fields.items() for x in pair))


class Lease:
    """One flush's hold on one customer: every write checks the token first."""

    def __init__(self, client: redis.Redis, keys: Keys, customer: str, token: str, *,
                 clock: Callable[[], float] = time.time):
        self.redis, self.keys, self.customer, self.token = client, keys, customer, token
        self.clock = clock
        self._renew = register(client, "renew")
        self._release = register(client, "release")
        self._take = register(client, "take")
        self._unpark = register(client, "unpark")
        self._write = register(client, "write")

    def _fenced(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        """Run a fenced script; raise LeaseLost when the lease is no longer ours."""
        answer = script(keys=[self.keys.owners, *keys], args=[self.customer, self.token, *args])
        if answer == -1:
            raise LeaseLost(f"the lease on {self.customer} moved to another flush")
        return answer

    def apply(self, writes: Writes) -> list[Any]:
        """Apply gathered writes, all or none, while the lease holds."""
        if not writes.ops:
            return []
        return list(self._fenced(self._write, writes.keys, [json.dumps(writes.ops)]))

    def renew(self, *, lease_s: float) -> None:
        """Extend the lease from now; LeaseLost if another flush holds it."""
        until = now_ms(self.clock) + int(lease_s * 1000)
        if not self._renew(keys=[self.keys.leases, self.keys.owners],
                           args=[self.customer, self.token, until]):
            raise LeaseLost(f"the lease on {self.customer} moved to another flush")

    def release(self, customer: Customer, *, hold_until_ms: int = 0,
                wake_at_ms: int = 0) -> None:
        """Hand the customer back; its next flush is scheduled if anything waits."""
        k, name = self.keys, self.customer
        self._fenced(self._release, [k.due, k.leases, k.buffer(name), k.batch(name),
                                     k.customer(name), k.replays(name)],
                     [now_ms(self.clock), customer.wait_ms, customer.max_batch,
                      hold_until_ms, wake_at_ms])

    def take(self, n: int) -> Batch | None:
        """The frozen batch, else up to n buffered events as a new batch."""
        k = self.keys
        raw = self._fenced(self._take, [k.buffer(self.customer), k.batch(self.customer),
                                        k.replays(self.customer)],
                           [n, now_ms(self.clock), self.keys.event("")])
        if not raw:
            return None
        return Batch.from_hash(dict(zip(raw[::2], raw[1::2], strict=True)))

    def drop(self, batch: Batch, missing: list[str]) -> Batch:
        """The batch without these ids (they have no record), in one fenced write; a frozen
        batch keeps its bytes and key, so that nothing it may have created is created anew.
        Returns what is left of the batch."""
        left = [eid for eid in batch.ids if eid not in missing]
        w = Writes()
        self._keep(w, left)
        self.apply(w)
        return replace(batch, ids=left)

    def freeze(self, batch: Batch) -> None:
        """Record the exact request before the first send."""
        self.apply(Writes().hset(self.keys.batch(self.customer), {
            "endpoint": batch.endpoint, "key": batch.key, "body": batch.body,
            "key_since": batch.key_since, "key_reason": batch.key_reason}))

    def _count_attempt(self, w: Writes, batch: Batch, error: str) -> None:
        """One more failed attempt of the batch (and of each of its events)."""
        w.hset(self.keys.batch(self.customer),       # one writer: the lease's holder
               {"attempts": batch.attempts + 1, "created": batch.created})
        for eid in batch.ids:
            w("HINCRBY", self.keys.event(eid), "attempts", 1)
            w.event(self.keys.event(eid), {"last_error": error})

    def split(self, batch: Batch, *, head: int = 0) -> None:
        """Keep the first half (or the first `head` events) in flight, to be frozen anew; put
        the rest back in front."""
        w = Writes()
        self._split(w, batch, head=head)
        self.apply(w)

    def _split(self, w: Writes, batch: Batch, *, head: int = 0) -> None:
        half = head or max(1, len(batch.ids) // 2)
        keep, back = batch.ids[:half], batch.ids[half:]
        w("DEL", self.keys.batch(self.customer))
        w.hset(self.keys.batch(self.customer),
               {"ids": ",".join(keep), "created": batch.created, "attempts": 0})
        for eid in reversed(back):
            w("LPUSH", self.keys.buffer(self.customer), eid)
        for eid in back:
            w.hset(self.keys.event(eid), {"status": "pending"})

    def park(self, held: dict[str, tuple[list[str], int, str]], remaining: list[str]) -> None:
        """Set routes' events aside (route -> ids, until ms, why) and keep only `remaining` in
        the batch, atomically, so a crash can never leave an event in both places.
        The batch is not frozen yet: nothing of these events was sent."""
        w, name = Writes(), self.customer
        for route, (ids, until_ms, reason) in held.items():
            w("RPUSH", self.keys.parked(name, route), *ids)
            w.hset(self.keys.customer(name),
                   {f"parked:{route}": until_ms, f"parked_reason:{route}": reason})
            for eid in ids:
                w.event(self.keys.event(eid), {"status": "held", "last_error": reason})
        self._keep(w, remaining)
        self.apply(w)

    def unpark(self, route: str) -> int:
        """A held route's events back to the front of the queue, to be tried again."""
        k = self.keys
        return int(self._fenced(self._unpark, [k.parked(self.customer, route),
                                               k.buffer(self.customer),
                                               k.customer(self.customer)],
                                [k.event(""), route]))

    def set_events(self, changes: dict[str, dict[str, str]]) -> None:
        """Fields of several events (enrichment's leads), in one fenced write."""
        w = Writes()
        for eid, fields in changes.items():
            w.event(self.keys.event(eid), fields)
        self.apply(w)

    def _set_state(self, w: Writes, fields: dict[str, Any]) -> None:
        """Customer state fields; None clears one."""
        key = self.keys.customer(self.customer)
        keep = {state_field(name): value for name, value in fields.items() if value is not None}
        if keep:
            w.hset(key, keep)
        if clear := [state_field(name) for name, value in fields.items() if value is None]:
            w("HDEL", key, *clear)

    def record(self, answered: Answered, ttl_s: int, *, retention_ms: int = 0) -> None:
        """What one MEGA answer (or a decision taken without one) leaves, in one fenced write:
        the call on each event's timeline, the attempt, the outcomes (a sent batch's request
        kept for replays while MEGA keeps its key), the split, the customer's state."""
        w, batch = Writes(), answered.batch
        if answered.note is not None:
            line = json.dumps(answered.note, separators=(",", ":"))
            for eid in batch.ids:
                w("EVLOG", self.keys.event(eid), line, defaults.ATTEMPT_LOG_SIZE)
        for eid in batch.ids if answered.calls else ():      # kept whole, unlike the timeline
            w("HINCRBY", self.keys.event(eid), SHORT_NAMES["mega_calls"], answered.calls)
        if answered.attempt_error is not None:
            self._count_attempt(w, batch, answered.attempt_error)
        if answered.outcomes:
            self._finish(w, answered.outcomes, ttl_s, sent=batch if batch.body else None,
                         retention_ms=retention_ms)
        if answered.split:
            self._split(w, batch)
        if answered.state:
            self._set_state(w, answered.state)
        self.apply(w)

    def finish(self, outcomes: Outcomes, ttl_s: int, *, remaining: list[str] | None = None,
               sent: Batch | None = None, retention_ms: int = 0) -> None:
        """Record each event's terminal outcome and drop the batch (or keep the remaining
        events in it, not yet frozen), atomically. Dead letters of a `sent` batch keep its
        request while MEGA keeps its key, so that a replay can send the same bytes again."""
        w = Writes()
        self._finish(w, outcomes, ttl_s, remaining=remaining, sent=sent,
                     retention_ms=retention_ms)
        self.apply(w)

    def _finish(self, w: Writes, outcomes: Outcomes, ttl_s: int, *,
                remaining: list[str] | None = None, sent: Batch | None = None,
                retention_ms: int = 0) -> None:
        now = now_ms(self.clock)
        counts = {"delivered": 0, "dead": 0}
        kept = sent is not None and self._keep_request(w, sent, outcomes, now, retention_ms)
        for eid, outcome in outcomes.items():
            key = self.keys.event(eid)
            request = {"request_key": sent.key} if kept and sent and not outcome.delivered \
                else {}
            w.event(key, {**outcome.to_fields(), **request, "finished_at": now})
            if not outcome.delivered:
                w("ZADD", self.keys.dead, now, eid)
            else:
                w("EXPIRE", key, ttl_s)
                w("ZADD", self.keys.compact, now, eid)
            counts[outcome.status] += 1
        self._keep(w, remaining)
        for status, n in counts.items():
            if n:
                w("HINCRBY", self.keys.customer(self.customer), status, n)

    def _keep_request(self, w: Writes, sent: Batch, outcomes: Outcomes, now: int,
                      retention_ms: int) -> bool:
        """Keep a sent batch's request for replays while MEGA keeps its key."""
        left_ms = (sent.key_since or sent.created) + retention_ms - now
        if not sent.key or left_ms <= 0 or all(o.delivered for o in outcomes.values()):
            return False
        key = self.keys.request(sent.key)
        w.hset(key, {"endpoint": sent.endpoint, "key": sent.key, "body": sent.body,
                     "ids": ",".join(sent.ids), "key_since": sent.key_since or sent.created})
        w("PEXPIRE", key, left_ms)
        return True

    def _keep(self, w: Writes, remaining: list[str] | None) -> None:
        """The batch keeps only these ids (none: it is dropped)."""
        if remaining:
            w.hset(self.keys.batch(self.customer), {"ids": ",".join(remaining)})
        else:
            w("DEL", self.keys.batch(self.customer))
