"""leadgate's Redis store: intake writes, flush leases, frozen batches, outcomes, dead letters.

Redis errors become StoreUnavailable here, and nowhere else.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import redis

from gateway.config import Customer
from gateway.errors import ConfigError, StoreUnavailable
from gateway.keys import CLAIM, INGEST, REPLAY, Keys
from gateway.lease import Lease
from gateway.metrics import Metrics
from gateway.outbound import replay_plan
from gateway.records import Batch, Replay, SentRequest, now_ms

__all__ = ["Batch", "Store", "event_id", "now_ms"]

TERMINAL = ("delivered", "dead", "test")


def event_id(customer: str, source: str, provider_id: str) -> str:
    """The event key (customer, source, provider id) as a short stable id."""
    raw = f"{customer}\x1f{source}\x1f{provider_id}".encode()
    return "evt_" + hashlib.sha256(raw).hexdigest()[:32]


def require_redis_url(config: Any, command: str) -> str:
    """REDIS_URL, or ConfigError: production never falls back to a Redis on local disk."""
    if not config.redis_url:
        raise ConfigError(f"REDIS_URL is not set: `leadgate {command}` needs a Redis "
                          "(only `leadgate dev` and the tests start an embedded one)")
    return str(config.redis_url)


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
        self._replay = client.register_script(REPLAY)

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

    def lease(self, customer: str, token: str) -> Lease:
        """The delivery role: a flush's fenced writes for one customer under its token."""
        return Lease(self.redis, self.keys, customer, token, clock=self.clock)

    # -- delivery reads --------------------------------------------------------------------
    def parked_routes(self, customer: str) -> dict[str, tuple[int, str]]:
        """Held routes: route -> (retry at ms, why)."""
        state = self.customer_state(customer)
        return {name[7:]: (int(value), state.get(f"parked_reason:{name[7:]}", ""))
                for name, value in state.items() if name.startswith("parked:")}

    def events(self, ids: list[str]) -> list[dict[str, str]]:
        pipe = self.redis.pipeline(transaction=False)
        for eid in ids:
            pipe.hgetall(self.keys.event(eid))
        return [{k.decode(): v.decode() for k, v in h.items()} for h in pipe.execute()]

    # -- customer state ------------------------------------------------------------------
    def customer_state(self, customer: str) -> dict[str, str]:
        raw = self.redis.hgetall(self.keys.customer(customer))
        return {k.decode(): v.decode() for k, v in raw.items()}

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

    def replay(self, eid: str, customer: Customer, *, new_key: bool = False) -> Replay | None:
        """Queue a dead letter again, with the dead letters of the request it went out in.

        The body is built again: unchanged, it goes out under the original key (MEGA answers
        with its stored response if it had committed); changed (a config fix), or with
        `new_key`, under a new one. None if `eid` is not a dead letter."""
        record = self.event(eid)
        if not record or record.get("status") != "dead":
            return None
        sent = self.sent_request(record.get("request_key", ""))
        ids = [eid] if sent is None else [i for i, r in zip(
            sent.ids, self.events(sent.ids), strict=True) if r.get("status") == "dead"]
        plan = replay_plan(customer, self.events(ids), sent, new_key=new_key,
                           was_sent=bool(record.get("request_key")))
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
