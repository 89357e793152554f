"""The read model: event records, customer state and summaries, dead letters, and replays
(one function, `replay`, for the admin API, the CLI and the console)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import redis

from gateway.config import Customer
from gateway.domain.event import Event
from gateway.domain.outbound import replay_plan
from gateway.domain.records import (
    SHORT_NAMES,
    CustomerState,
    Replay,
    SentRequest,
    mega_calls,
    now_ms,
    tombstone,
    unpacked,
)
from gateway.store.connection import translated
from gateway.store.headroom import Memory, read_memory
from gateway.store.keys import Keys
from gateway.store.replies import members, raw_hash, scored, text, text_hash


class ReadModel:
    """Reads for the admin API, the CLI, the console and the flush; and replays."""

    _redis: redis.Redis
    keys: Keys
    clock: Callable[[], float]
    _replay: Any                     # the REPLAY script, registered by the Store
    _purge: Any                      # PURGE, registered by the Store
    _tombstones: Any                 # TOMBSTONE_READ, registered by the Store

    def parked_routes(self, customer: str) -> dict[str, tuple[int, str]]:
        """Held routes: route -> (retry at ms, why)."""
        return self.state(customer).parked

    def _records(self, ids: list[str]) -> list[dict[str, str]]:
        """Event hashes by id, as stored (a compacted one's tombstone; an empty dict for an id
        not stored, or for a stray hash without a customer); without their MEGA calls (`log`:
        Index.attempts reads them), but with how many there were."""
        pipe = self._redis.pipeline(transaction=False)
        for eid in ids:
            pipe.hgetall(self.keys.event(eid))
        records = [{"id": eid, **rec} if "customer" in (rec := unpacked(h)) else {}
                   for eid, h in zip(ids, pipe.execute(), strict=True)]
        for rec in records:
            if calls := mega_calls(rec):
                rec["mega_calls"] = str(calls)
            rec.pop("log", None)
        found = self._tombstones_of([eid for eid, rec in zip(ids, records, strict=True)
                                     if not rec])
        return [rec or (tombstone(eid, found[eid]) if eid in found else {})
                for eid, rec in zip(ids, records, strict=True)]

    def _tombstones_of(self, ids: list[str]) -> dict[str, bytes]:
        """The packed tombstones of those of these compacted events that have one."""
        if not ids:
            return {}
        packed = self._tombstones(keys=[self.keys.tombstones], args=[now_ms(self.clock), *ids])
        return {eid: value for eid, value in zip(ids, packed, strict=True) if value}

    def received(self, ids: list[str]) -> dict[str, int]:
        """When each of these events was received (ms), for those stored whole or as a
        tombstone: two fields of each, not the record."""
        pipe = self._redis.pipeline(transaction=False)
        for eid in ids:
            pipe.hmget(self.keys.event(eid), "received_at", SHORT_NAMES["customer"])
        found = {eid: int(at) for eid, (at, customer) in zip(ids, pipe.execute(), strict=True)
                 if at and customer}
        gone = self._tombstones_of([eid for eid in ids if eid not in found])
        return {**found, **{eid: int(tombstone(eid, value)["received_at"])
                            for eid, value in gone.items()}}

    def events(self, ids: list[str]) -> list[Event | None]:
        """The events by id (None for an id not stored)."""
        return [Event.from_fields(raw) if "id" in raw else None for raw in self._records(ids)]

    def stored(self, ids: list[str]) -> list[bool]:
        """Which of these events are known: stored whole, or compacted to a tombstone."""
        with translated():
            pipe = self._redis.pipeline(transaction=False)
            for eid in ids:
                pipe.exists(self.keys.event(eid))
            whole = [bool(n) for n in pipe.execute()]
            found = self._tombstones_of([eid for eid, w in zip(ids, whole, strict=True)
                                         if not w])
            return [w or eid in found for eid, w in zip(ids, whole, strict=True)]

    def load_events(self, ids: list[str]) -> list[Event]:
        """The events by id, typed (KeyError for an id not stored)."""
        return [Event.from_fields(raw) for raw in self._records(ids)]

    def batch_events(self, ids: list[str]) -> tuple[list[Event], list[str]]:
        """A batch's events, stored whole, and the ids that have no such record (purged,
        lost or compacted: nothing of theirs can be sent or recorded)."""
        pipe = self._redis.pipeline(transaction=False)
        for eid in ids:
            pipe.hgetall(self.keys.event(eid))
        events, missing = [], []
        for eid, raw in zip(ids, pipe.execute(), strict=True):
            rec = unpacked(raw)
            rec.pop("log", None)
            if "customer" in rec and "compacted" not in rec:
                events.append(Event.from_fields({"id": eid, **rec}))
            else:
                missing.append(eid)
        return events, missing

    # -- customer state ------------------------------------------------------------------
    def customer_state(self, customer: str) -> dict[str, str]:
        """The customer hash as it is stored."""
        return text_hash(self._redis.hgetall(self.keys.customer(customer)))

    def state(self, customer: str) -> CustomerState:
        """The customer's state, typed."""
        return CustomerState.from_hash(self.customer_state(customer))

    # -- dead letters and status ---------------------------------------------------------
    def event(self, eid: str) -> Event | None:
        """One event, None if it is not stored."""
        with translated():
            (event,) = self.events([eid])
        return event

    def dead_letters(self, *, offset: int = 0, limit: int = 100) -> list[Event]:
        """Dead letters, oldest first."""
        with translated():
            ids = members(self._redis.zrange(self.keys.dead, offset, offset + limit - 1))
            return [e for e in self.events(ids) if e]

    def dead_count(self) -> int:
        """How many dead letters are kept."""
        with translated():
            return int(self._redis.zcard(self.keys.dead))

    def plan_replay(self, eid: str, customer: Customer, *, new_key: bool = False
                    ) -> Replay | None:
        """What a replay of `eid` would send, under which key and why, without queueing it.
        None if `eid` is not a dead letter."""
        event = self.event(eid)
        if event is None or event.status != "dead":
            return None
        request_key = event.extra.get("request_key", "")
        sent = self.sent_request(request_key)
        ids = [eid] if sent is None else [i for i, e in zip(
            sent.ids, self.events(sent.ids), strict=True) if e and e.status == "dead"]
        return replay_plan(customer, self.load_events(ids), sent, new_key=new_key,
                           was_sent=bool(request_key))

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
            return SentRequest.from_hash(raw_hash(self._redis.hgetall(self.keys.request(key))))

    def purge(self, eid: str) -> bool:
        """Delete a dead letter for good, in one script (keys.py: PURGE): False if it is not
        one (or no longer: a replay took it first)."""
        k = self.keys
        with translated():
            return bool(self._purge(keys=[k.dead, k.event(eid), k.attempts(eid)], args=[eid]))

    def customer_summary(self, customer: str) -> dict[str, Any]:
        """Where a customer's leads are: pending, in flight, delivered, dead, and why held."""
        k = self.keys
        with translated():
            pipe = self._redis.pipeline(transaction=False)
            pipe.llen(k.buffer(customer))
            pipe.hget(k.batch(customer), "ids")
            pipe.hgetall(k.customer(customer))
            pipe.zscore(k.due, customer)
            pipe.zscore(k.leases, customer)
            waiting, batch_ids, state, due, leased = pipe.execute()
        state = CustomerState.from_hash(text_hash(state))
        held = state.hold_until > now_ms(self.clock)
        with translated():
            routes = {route: {"leads": int(self._redis.llen(k.parked(customer, route))),
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

    # -- reads for the console, the admin API and the CLI ----------------------------------
    def oldest_pending_ms(self, customer: str) -> int | None:
        """When the customer's oldest waiting event was received (ms), None if none waits."""
        first = self._redis.lindex(self.keys.buffer(customer), 0)
        if first is None:
            return None
        received = self._redis.hget(self.keys.event(text(first)), "received_at")
        return int(received) if received else None

    def recent_events(self, top: float, low: float, *, offset: int, count: int
                      ) -> list[tuple[str, int]]:
        """(event id, received ms) from the events-by-time index, newest first."""
        found = self._redis.zrevrangebyscore(self.keys.events, top, low, start=offset, num=count,
                                            withscores=True)
        return [(eid, int(score)) for eid, score in scored(found)]

    def reconcile_state(self, route: str) -> dict[str, str]:
        """A route's reconciliation hash as it is stored."""
        return text_hash(self._redis.hgetall(self.keys.reconcile(route)))

    def source_health(self) -> dict[str, Any]:
        """The last source-health check of every checked route, by route."""
        return {text(k): json.loads(v) for k, v in
                self._redis.hgetall(self.keys.source_health).items()}

    def memory_info(self) -> dict[str, Any]:
        """Redis's INFO memory section."""
        return dict(self._redis.info("memory"))

    def memory_now(self, config: Any) -> Memory:
        """Redis's memory headroom now, against the config's redis.max_memory_mb."""
        return read_memory(self._redis, config)

    def oldest_undelivered_ms(self, customer: str) -> int:
        """When the customer's oldest lead not yet delivered arrived, in the buffer or the
        batch in flight (0: none waits)."""
        first = self._redis.lindex(self.keys.buffer(customer), 0)
        created = self._redis.hget(self.keys.batch(customer), "created")
        times = [int(created)] if created else []
        if first:
            received = self._redis.hget(self.keys.event(text(first)), "received_at")
            times += [int(received)] if received else []
        return min(times, default=0)

    def note_source_health(self, results: dict[str, dict[str, Any]]) -> None:
        """Keep each route's last source-health check (route -> its result)."""
        self._redis.hset(self.keys.source_health,
                        mapping={k: json.dumps(v) for k, v in results.items()})

    def server_info(self) -> dict[str, Any]:
        """Redis's INFO, its default sections (memory and persistence among them)."""
        return dict(self._redis.info())

    def firing_alerts(self) -> list[str]:
        """The alerts firing now, by name."""
        return sorted(text(f) for f in self._redis.hkeys(self.keys.alert_state))
