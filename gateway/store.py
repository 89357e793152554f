"""leadgate's Redis store: intake writes, flush leases, frozen batches, outcomes, dead letters.

Redis errors become StoreUnavailable here, and nowhere else.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis

from gateway.config import Customer
from gateway.errors import StoreUnavailable
from gateway.keys import CLAIM, INGEST, RELEASE, RENEW, REPLAY, SPLIT, TAKE, UNPARK, Keys
from gateway.metrics import Metrics

TERMINAL = ("delivered", "dead", "test")


def event_id(customer: str, source: str, provider_id: str) -> str:
    """The event key (customer, source, provider id) as a short stable id."""
    raw = f"{customer}\x1f{source}\x1f{provider_id}".encode()
    return "evt_" + hashlib.sha256(raw).hexdigest()[:32]


def now_ms(clock: Callable[[], float] = time.time) -> int:
    return int(clock() * 1000)


@dataclass
class Batch:
    """A customer's in-flight batch; once `body` is set it is frozen and resent unchanged."""

    ids: list[str]
    created: int
    attempts: int = 0
    endpoint: str = ""
    key: str = ""
    body: bytes = b""

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> Batch:
        data = {k.decode(): v for k, v in raw.items()}
        return cls(ids=data["ids"].decode().split(","), created=int(data["created"]),
                   attempts=int(data.get("attempts", b"0")),
                   endpoint=data.get("endpoint", b"").decode(), key=data.get("key", b"").decode(),
                   body=data.get("body", b""))


@contextmanager
def translated() -> Iterator[None]:
    """Redis trouble as the one error callers handle."""
    try:
        yield
    except redis.RedisError as exc:
        raise StoreUnavailable(f"the event store is unavailable ({type(exc).__name__})") from exc


class Store:
    def __init__(self, client: redis.Redis, *, keys: Keys | None = None,
                 clock: Callable[[], float] = time.time):
        self.redis, self.keys, self.clock = client, keys or Keys(), clock
        self.metrics = Metrics(client, self.keys.metrics)
        self._ingest = client.register_script(INGEST)
        self._claim = client.register_script(CLAIM)
        self._renew = client.register_script(RENEW)
        self._release = client.register_script(RELEASE)
        self._take = client.register_script(TAKE)
        self._split = client.register_script(SPLIT)
        self._replay = client.register_script(REPLAY)
        self._unpark = client.register_script(UNPARK)

    # -- intake --------------------------------------------------------------------------
    def ingest(self, customer: Customer, records: list[dict[str, str]], ttl_s: int) -> list[bool]:
        """Store new events and queue the pending ones, in one round trip."""
        k = self.keys
        keys = [k.buffer(customer.name), k.due, k.leases, k.customer(customer.name),
                *(k.event(r["id"]) for r in records)]
        args = [customer.name, now_ms(self.clock), customer.wait_ms, customer.max_batch,
                ttl_s, *(json.dumps(r) for r in records)]
        with translated():
            return [bool(flag) for flag in self._ingest(keys=keys, args=args)]

    # -- leases --------------------------------------------------------------------------
    def claim(self, token: str, *, lease_s: float, limit: int) -> list[str]:
        """Lease the customers whose flush is due (and those whose flush died)."""
        k = self.keys
        got = self._claim(keys=[k.due, k.leases, k.owners],
                          args=[now_ms(self.clock), int(lease_s * 1000), limit, token])
        return [c.decode() for c in got]

    def renew(self, customer: str, token: str, *, lease_s: float) -> bool:
        until = now_ms(self.clock) + int(lease_s * 1000)
        return bool(self._renew(keys=[self.keys.leases, self.keys.owners],
                                args=[customer, token, until]))

    def release(self, customer: Customer, token: str, *, hold_until_ms: int = 0,
                wake_at_ms: int = 0) -> bool:
        """Hand the customer back; its next flush is scheduled if anything waits."""
        k, name = self.keys, customer.name
        keys = [k.due, k.leases, k.owners, k.buffer(name), k.batch(name), k.customer(name)]
        args = [name, token, now_ms(self.clock), customer.wait_ms, customer.max_batch,
                hold_until_ms, wake_at_ms]
        return bool(self._release(keys=keys, args=args))

    # -- batches -------------------------------------------------------------------------
    def take(self, customer: str, n: int) -> Batch | None:
        """The frozen batch, else up to n buffered events as a new batch."""
        raw = self._take(keys=[self.keys.buffer(customer), self.keys.batch(customer)],
                         args=[n, now_ms(self.clock), self.keys.event("")])
        if not raw:
            return None
        return Batch.from_hash(dict(zip(raw[::2], raw[1::2], strict=True)))

    def freeze(self, customer: str, batch: Batch) -> None:
        """Record the exact request before the first send."""
        self.redis.hset(self.keys.batch(customer), mapping={
            "endpoint": batch.endpoint, "key": batch.key, "body": batch.body})

    def count_attempt(self, customer: str, batch: Batch, error: str) -> int:
        pipe = self.redis.pipeline()
        pipe.hincrby(self.keys.batch(customer), "attempts", 1)
        for eid in batch.ids:
            pipe.hincrby(self.keys.event(eid), "attempts", 1)
            pipe.hset(self.keys.event(eid), "last_error", error)
        return int(pipe.execute()[0])

    def split(self, customer: str, batch: Batch, *, head: int = 0) -> None:
        """Keep the first half (or the first `head` events) in flight, to be frozen anew; put
        the rest back in front."""
        half = head or max(1, len(batch.ids) // 2)
        keep, back = batch.ids[:half], batch.ids[half:]
        self._split(keys=[self.keys.buffer(customer), self.keys.batch(customer)],
                    args=[",".join(keep), batch.created, *back])
        if back:
            self.set_events(back, {"status": "pending"})

    # -- routes held for their credentials (Meta's page token) --------------------------
    def park(self, customer: str, held: dict[str, tuple[list[str], int, str]],
             remaining: list[str]) -> None:
        """Set routes' events aside (route -> ids, until ms, why) and keep only `remaining` in
        the batch, in one transaction, so a crash can never leave an event in both places.
        The batch is not frozen yet: nothing of these events was sent."""
        pipe = self.redis.pipeline(transaction=True)
        for route, (ids, until_ms, reason) in held.items():
            pipe.rpush(self.keys.parked(customer, route), *ids)
            pipe.hset(self.keys.customer(customer), mapping={
                f"parked:{route}": until_ms, f"parked_reason:{route}": reason})
            for eid in ids:
                pipe.hset(self.keys.event(eid), mapping={"status": "held", "last_error": reason})
        if remaining:
            pipe.hset(self.keys.batch(customer), "ids", ",".join(remaining))
        else:
            pipe.delete(self.keys.batch(customer))
        pipe.execute()

    def parked_routes(self, customer: str) -> dict[str, tuple[int, str]]:
        """Held routes: route -> (retry at ms, why)."""
        state = self.customer_state(customer)
        return {name[7:]: (int(value), state.get(f"parked_reason:{name[7:]}", ""))
                for name, value in state.items() if name.startswith("parked:")}

    def unpark(self, customer: str, route: str) -> int:
        """A held route's events back to the front of the queue, to be tried again."""
        moved = self._unpark(keys=[self.keys.parked(customer, route), self.keys.buffer(customer)],
                             args=[self.keys.event("")])
        self.redis.hdel(self.keys.customer(customer), f"parked:{route}",
                        f"parked_reason:{route}")
        return int(moved)

    def events(self, ids: list[str]) -> list[dict[str, str]]:
        pipe = self.redis.pipeline(transaction=False)
        for eid in ids:
            pipe.hgetall(self.keys.event(eid))
        return [{k.decode(): v.decode() for k, v in h.items()} for h in pipe.execute()]

    def set_events(self, ids: list[str], fields: dict[str, str]) -> None:
        self.set_events_each(dict.fromkeys(ids, fields))

    def set_events_each(self, changes: dict[str, dict[str, str]]) -> None:
        if changes:
            pipe = self.redis.pipeline(transaction=False)
            for eid, fields in changes.items():
                pipe.hset(self.keys.event(eid), mapping=fields)
            pipe.execute()

    def finish(self, customer: str, outcomes: dict[str, dict[str, str]], ttl_s: int, *,
               remaining: list[str] | None = None) -> None:
        """Record each event's terminal outcome and drop the batch (or keep the remaining
        events in it, not yet frozen), atomically."""
        now = now_ms(self.clock)
        pipe = self.redis.pipeline(transaction=True)
        counts = {"delivered": 0, "dead": 0}
        for eid, outcome in outcomes.items():
            key = self.keys.event(eid)
            pipe.hset(key, mapping={**outcome, "finished_at": now})
            if outcome["status"] == "dead":
                pipe.zadd(self.keys.dead, {eid: now})
            else:
                pipe.expire(key, ttl_s)
            counts[outcome["status"]] += 1
        if remaining:
            pipe.hset(self.keys.batch(customer), "ids", ",".join(remaining))
        else:
            pipe.delete(self.keys.batch(customer))
        for status, n in counts.items():
            if n:
                pipe.hincrby(self.keys.customer(customer), status, n)
        pipe.execute()

    # -- customer state ------------------------------------------------------------------
    def customer_state(self, customer: str) -> dict[str, str]:
        raw = self.redis.hgetall(self.keys.customer(customer))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def set_customer_state(self, customer: str, **fields: Any) -> None:
        clear = [name for name, value in fields.items() if value is None]
        keep = {name: value for name, value in fields.items() if value is not None}
        pipe = self.redis.pipeline(transaction=False)
        if keep:
            pipe.hset(self.keys.customer(customer), mapping=keep)
        if clear:
            pipe.hdel(self.keys.customer(customer), *clear)
        pipe.execute()

    # -- dead letters and status ---------------------------------------------------------
    def event(self, eid: str) -> dict[str, str] | None:
        with translated():
            (record,) = self.events([eid])
        return record or None

    def dead_letters(self, *, offset: int = 0, limit: int = 100) -> list[dict[str, str]]:
        """Dead letters, oldest first, with their records."""
        with translated():
            ids = [i.decode() for i in self.redis.zrange(self.keys.dead, offset,
                                                         offset + limit - 1)]
            return [r for r in self.events(ids) if r]

    def dead_count(self) -> int:
        with translated():
            return int(self.redis.zcard(self.keys.dead))

    def replay(self, eid: str) -> bool:
        """Queue a dead letter again; it gets a new idempotency key."""
        record = self.event(eid)
        if not record or record.get("status") != "dead":
            return False
        k, customer = self.keys, record["customer"]
        with translated():
            return bool(self._replay(
                keys=[k.event(eid), k.buffer(customer), k.due, k.leases, k.dead],
                args=[eid, customer, now_ms(self.clock)]))

    def purge(self, eid: str) -> bool:
        """Delete a dead letter for good."""
        with translated():
            if not self.redis.zrem(self.keys.dead, eid):
                return False
            self.redis.delete(self.keys.event(eid))
            return True

    def customer_summary(self, customer: str) -> dict[str, Any]:
        """Where a customer's leads are: pending, in flight, delivered, dead, and why held."""
        k = self.keys
        with translated():
            pipe = self.redis.pipeline(transaction=False)
            pipe.llen(k.buffer(customer))
            pipe.hget(k.batch(customer), "ids")
            pipe.hgetall(k.customer(customer))
            pipe.zscore(k.due, customer)
            pipe.zscore(k.leases, customer)
            waiting, batch_ids, state, due, leased = pipe.execute()
        state = {a.decode(): b.decode() for a, b in state.items()}
        hold = int(state.get("hold_until", "0"))
        held = hold > now_ms(self.clock)
        with translated():
            routes = {name[7:]: {"leads": int(self.redis.llen(k.parked(customer, name[7:]))),
                                 "retry_at_ms": int(value),
                                 "reason": state.get(f"parked_reason:{name[7:]}", "")}
                      for name, value in state.items() if name.startswith("parked:")}
        blocked = state.get("blocked") or next((r["reason"] for r in routes.values()), None)
        return {
            "pending": int(waiting),
            "in_flight": len(batch_ids.decode().split(",")) if batch_ids else 0,
            "held": sum(r["leads"] for r in routes.values()),
            "held_routes": routes,
            "delivered": int(state.get("delivered", "0")),
            "dead": int(state.get("dead", "0")),
            "state": ("blocked" if blocked else
                      "paused" if held else "delivering" if leased else "idle"),
            "reason": blocked or (state.get("hold_reason") if held else None),
            "last_error": state.get("last_error"),
            "next_attempt_ms": int(due) if due is not None else None,
        }
