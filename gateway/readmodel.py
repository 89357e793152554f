"""The read model: event records, customer state and summaries, dead letters, and replays
(one function, `replay`, for the admin API, the CLI and the console)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from gateway.config import Customer
from gateway.errors import StoreFull, StoreUnavailable
from gateway.event import Event
from gateway.keys import Keys
from gateway.outbound import replay_plan
from gateway.records import CustomerState, Replay, SentRequest, now_ms, tombstone, unpacked


@contextmanager
def translated() -> Iterator[None]:
    """Redis trouble as the one error callers handle (a full Redis as its own 503)."""
    try:
        yield
    except redis.RedisError as exc:
        if isinstance(exc, redis.exceptions.OutOfMemoryError):    # "OOM command not allowed"
            raise StoreFull() from exc
        raise StoreUnavailable(f"the event store is unavailable ({type(exc).__name__})") from exc


class ReadModel:
    """Reads for the admin API, the CLI, the console and the flush; and replays."""

    redis: redis.Redis
    keys: Keys
    clock: Callable[[], float]
    _replay: Any                     # the REPLAY script, registered by the Store
    _tombstones: Any                 # TOMBSTONE_READ, registered by the Store

    def parked_routes(self, customer: str) -> dict[str, tuple[int, str]]:
        """Held routes: route -> (retry at ms, why)."""
        return self.state(customer).parked

    def events(self, ids: list[str]) -> list[dict[str, str]]:
        """Event records by id (an empty dict for an id not stored); without their MEGA calls
        (`log`: Index.attempts reads them)."""
        pipe = self.redis.pipeline(transaction=False)
        for eid in ids:
            pipe.hgetall(self.keys.event(eid))
        records = [{"id": eid, **unpacked(h)} if h else {}
                   for eid, h in zip(ids, pipe.execute(), strict=True)]
        for rec in records:
            rec.pop("log", None)
        if gone := [eid for eid, rec in zip(ids, records, strict=True) if not rec]:
            found = dict(zip(gone, self._tombstones(keys=[self.keys.tombstones],
                                                    args=[now_ms(self.clock), *gone]),
                             strict=True))
            records = [rec or (tombstone(eid, found[eid]) if found.get(eid) else {})
                       for eid, rec in zip(ids, records, strict=True)]
        return records

    def stored(self, ids: list[str]) -> list[bool]:
        """Which of these events are known: stored whole, or compacted to a tombstone."""
        with translated():
            return [bool(rec) for rec in self.events(ids)]

    def load_events(self, ids: list[str]) -> list[Event]:
        """The events by id, typed (KeyError for an id not stored)."""
        return [Event.from_fields(raw) for raw in self.events(ids)]

    # -- customer state ------------------------------------------------------------------
    def customer_state(self, customer: str) -> dict[str, str]:
        """The customer hash as it is stored."""
        raw = self.redis.hgetall(self.keys.customer(customer))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def state(self, customer: str) -> CustomerState:
        """The customer's state, typed."""
        return CustomerState.from_hash(self.customer_state(customer))

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

    def plan_replay(self, eid: str, customer: Customer, *, new_key: bool = False
                    ) -> Replay | None:
        """What a replay of `eid` would send, under which key and why, without queueing it.
        None if `eid` is not a dead letter."""
        record = self.event(eid)
        if not record or record.get("status") != "dead":
            return None
        sent = self.sent_request(record.get("request_key", ""))
        ids = [eid] if sent is None else [i for i, r in zip(
            sent.ids, self.events(sent.ids), strict=True) if r.get("status") == "dead"]
        return replay_plan(customer, self.load_events(ids), sent, new_key=new_key,
                           was_sent=bool(record.get("request_key")))

    def replay(self, eid: str, customer: Customer, *, new_key: bool = False) -> Replay | None:
        """Queue a dead letter again, with the dead letters of the request it went out in.

        The body is built again: unchanged, it goes out under the original key (MEGA answers
        with its stored response if it had committed); changed (a config fix), refused by MEGA
        (nothing was created), or with `new_key`, under a new one. None if `eid` is not a
        dead letter."""
        plan = self.plan_replay(eid, customer, new_key=new_key)
        if plan is None:
            return None
        batch = json.dumps({"ids": ",".join(plan.ids), "endpoint": plan.endpoint,
                            "key": plan.key, "body": plan.body.decode(),
                            "key_since": str(plan.key_since or now_ms(self.clock)),
                            "key_reason": plan.reason})
        k = self.keys
        with translated():
            done = self._replay(
                keys=[k.replays(customer.name), k.buffer(customer.name), k.due, k.leases,
                      k.dead, *(k.event(i) for i in plan.ids)],
                args=[customer.name, now_ms(self.clock), batch if plan.body else "",
                      plan.key, plan.reason, *plan.ids])
        return plan if done else None

    def sent_request(self, key: str) -> SentRequest | None:
        """A request kept for replays, None once past key retention."""
        if not key:
            return None
        with translated():
            return SentRequest.from_hash(self.redis.hgetall(self.keys.request(key)))

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
        state = CustomerState.from_hash({a.decode(): b.decode() for a, b in state.items()})
        held = state.hold_until > now_ms(self.clock)
        with translated():
            routes = {route: {"leads": int(self.redis.llen(k.parked(customer, route))),
                              "retry_at_ms": until, "reason": why}
                      for route, (until, why) in state.parked.items()}
        blocked = state.blocked or next((r["reason"] for r in routes.values()), None)
        return {
            "pending": int(waiting),
            "in_flight": len(batch_ids.decode().split(",")) if batch_ids else 0,
            "held": sum(r["leads"] for r in routes.values()),
            "held_routes": routes,
            "delivered": state.delivered,
            "dead": state.dead,
            "state": ("blocked" if blocked else
                      "paused" if held else "delivering" if leased else "idle"),
            "reason": blocked or (state.hold_reason or None if held else None),
            "last_error": state.last_error or None,
            "next_attempt_ms": int(due) if due is not None else None,
        }
