"""Alerts in Redis: which are firing, what the evaluator last saw, and the deliveries queued
for each target (gateway/store/keys.py: alerts:state, alerts:marks, alerts:pending, alert)."""

from __future__ import annotations

from typing import Any

from gateway.store.keys import Keys
from gateway.store.scripts import register


class Alerts:
    """Alert state and deliveries, shared by every worker."""

    def __init__(self, client: Any, keys: Keys):
        self.redis, self.keys = client, keys
        self._transition = register(client, "alert_transition")
        self._claim = register(client, "alert_claim")

    def firing(self) -> set[str]:
        """The fields (kind:subject) of the alerts firing now."""
        return {f.decode() for f in self.redis.hkeys(self.keys.alert_state)}

    def are_firing(self, fields: list[str]) -> list[bool]:
        """Whether each of these alerts is firing."""
        return [bool(was) for was in self.redis.hmget(self.keys.alert_state, fields)]

    def transition(self, field: str, status: str, now_ms: int, bodies: dict[str, str]) -> bool:
        """Compare-and-set the alert's state; only the call that changes it queues its
        deliveries (delivery id -> body). Whether this call changed it."""
        keys = [self.keys.alert_state, self.keys.alerts_pending,
                *(self.keys.alert(delivery) for delivery in bodies)]
        args: list[str | int] = [field, status, now_ms]
        for delivery, body in bodies.items():
            args += [delivery, body]
        return bool(self._transition(keys=keys, args=args))

    def mark(self, name: str) -> str | None:
        """What the evaluator last noted under name, or None."""
        found = self.redis.hget(self.keys.alert_marks, name)
        return found.decode() if found is not None else None

    def set_marks(self, marks: dict[str, int]) -> None:
        """Note what the evaluator saw."""
        self.redis.hset(self.keys.alert_marks, mapping=marks)

    def claim(self, now_ms: int, lease_ms: int, limit: int) -> list[str]:
        """Due deliveries, each hidden for lease_ms while it is sent."""
        return [d.decode() for d in self._claim(keys=[self.keys.alerts_pending],
                                                args=[now_ms, lease_ms, limit])]

    def due_at(self, delivery: str) -> float | None:
        """When the delivery is due (ms), or None when it is not queued."""
        due = self.redis.zscore(self.keys.alerts_pending, delivery)
        return float(due) if due is not None else None

    def delay(self, delivery: str, until_ms: float) -> None:
        """The queued delivery is due at until_ms."""
        self.redis.zadd(self.keys.alerts_pending, {delivery: until_ms}, xx=True)

    def delivery(self, delivery: str) -> dict[str, str]:
        """The delivery's record (body, attempts, created), {} when gone."""
        return {k.decode(): v.decode()
                for k, v in self.redis.hgetall(self.keys.alert(delivery)).items()}

    def add_attempt(self, delivery: str) -> int:
        """One more failed attempt: how many now."""
        return int(self.redis.hincrby(self.keys.alert(delivery), "attempts", 1))

    def forget(self, delivery: str) -> None:
        """Drop the delivery, sent or given up."""
        pipe = self.redis.pipeline(transaction=True)
        pipe.zrem(self.keys.alerts_pending, delivery)
        pipe.delete(self.keys.alert(delivery))
        pipe.execute()
