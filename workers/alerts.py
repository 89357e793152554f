"""Alerts: compare what is wrong now with what was last alerted, across all workers, and send
one alert per change of state (and a resolved one when it ends) to Slack and/or a webhook
signed as Standard Webhooks sign.

The compare-and-set is one Lua script, so of many workers exactly one queues each change.
Queued alerts wait in a sorted set by due time; a sender hides the ones it takes for a lease,
so an alert whose sender dies (SIGKILL) is due again and sent by another worker. Each alert
keeps one id (the `webhook-id`), so a receiver recognises a resend. Alerts carry route and
customer names, counts and states: no contact data, no secret.
"""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from gateway import defaults
from gateway.config import Config
from gateway.domain.sources.providers.standard_webhooks import (
    StandardWebhooks,
    StandardWebhooksSettings,
)
from gateway.store.headroom import read_settings
from gateway.store.route_status import health_report, reconcile_report, reconciles
from gateway.store.store import Store, now_ms

log = logging.getLogger("leadgate.alerts")
RESOLVED = {
    "customer_blocked": "customer {s}: MEGA accepts its credentials again",
    "route_held": "route {s}: its held leads are delivered again",
    "dead_letters": "customer {s}: no new dead letter for an hour",
    "stale_backlog": "customer {s}: the backlog is moving again",
    "token_expiring": "route {s}: the Meta page token no longer expires soon",
    "source_unhealthy": "route {s}: its source connection is healthy again",
    "missed_leads": "route {s}: the last reconciliation found no missed lead",
    "redis_config": "Redis {s}: set as leadgate needs it again",
    "redis_memory": f"Redis memory (alert at {{s}}): back under "
                    f"{defaults.MEMORY_RESOLVED_PERCENT}% of its limit",
}


@dataclass(frozen=True)
class Condition:
    """Something wrong now: one alert kind about one customer or route."""

    kind: str
    subject: str
    summary: str

    @property
    def field(self) -> str:
        return f"{self.kind}:{self.subject}"


class Evaluator:
    """Finds the current conditions and queues an alert for each change since the last one."""

    def __init__(self, config: Config, store: Store, *, clock: Callable[[], float] = time.time):
        self.config, self.store, self.clock = config, store, clock

    def evaluate(self) -> list[str]:
        """Queue the alerts of every change of state; returns their fields (kind:subject)."""
        current = {c.field: c for c in self.conditions()}
        firing = self.store.alerts.firing()
        changed = [c.field for c in current.values() if self.transition(c, "firing")]
        for name in sorted(firing - set(current)):
            kind, _, subject = name.partition(":")
            resolved = Condition(kind, subject, RESOLVED.get(kind, "{s}: resolved").format(
                s=subject))
            if self.transition(resolved, "resolved"):
                changed.append(name)
        return changed

    def conditions(self) -> list[Condition]:
        found: list[Condition] = []
        for name in sorted(self.config.customers):
            found += self.customer_conditions(name)
        for route, health in health_report(self.store).items():
            state = health.get("state") if route in self.config.routes else None
            if state == "token_expiring":
                found.append(Condition("token_expiring", route, f"route {route}: the Meta page "
                                       f"token expires in {health.get('days_left')} days"))
            elif state in ("token_invalid", "not_subscribed", "permission_missing"):
                source = self.config.routes[route].source
                found.append(Condition("source_unhealthy", route, f"route {route}: source "
                                       f"{source} {state.replace('_', ' ')}"))
        for spec in self.config.routes.values():
            if reconciles(spec) and (n := reconcile_report(self.store, spec)["last_missed"]):
                found.append(Condition("missed_leads", spec.name, f"route {spec.name}: "
                                       f"reconciliation recovered {n} lead(s) the webhook "
                                       "missed"))
        return found + self.memory_conditions() + self.settings_conditions()

    def settings_conditions(self) -> list[Condition]:
        """A Redis setting that breaks a promise (evicting policy; appendonly off under
        server.ack = "fsync"), changed at any time: alerted while it lasts."""
        info = self.store.server_info()
        return [Condition("redis_config", s.name, s.summary)
                for s in read_settings(info, self.config) if s.alerted]

    def memory_conditions(self) -> list[Condition]:
        """Redis memory at 80%, and again at 95%, of its limit; each alert holds until the
        use falls under 70% (no flapping around a threshold)."""
        now = self.store.memory_now(self.config)
        if now.percent is None:
            return []
        levels, floor = defaults.MEMORY_ALERT_PERCENT, defaults.MEMORY_RESOLVED_PERCENT
        firing = self.store.alerts.are_firing([f"redis_memory:{level}%" for level in levels])
        return [Condition("redis_memory", f"{level}%", f"Redis memory at {now.percent:.0f}% "
                          f"of {now.limit / 1e6:.0f} MB (alert at {level}%); when full, the "
                          "intake answers 503 until workers deliver what is queued")
                for level, was in zip(levels, firing, strict=True)
                if now.percent >= level or (was and now.percent >= floor)]

    def customer_conditions(self, name: str) -> list[Condition]:
        """Blocked on credentials, held routes, fresh dead letters, a stale backlog."""
        state, found = self.store.customer_state(name), []
        if state.get("blocked"):
            found.append(Condition("customer_blocked", name,
                                   f"customer {name}: MEGA refuses its credentials; its leads "
                                   "are held"))
        for field in sorted(state):
            if field.startswith("parked:"):
                route = field[7:]
                found.append(Condition("route_held", route, f"route {route}: leads held, Meta "
                                       "refuses the page token or a permission"))
        if self.dead_recently(name, int(state.get("dead", "0"))):
            found.append(Condition("dead_letters", name, f"customer {name}: leads became dead "
                                   "letters (see leadgate dlq list)"))
        stale_ms = self.config.alerts.stale_after_ms
        oldest = self.store.oldest_undelivered_ms(name)
        if oldest and now_ms(self.clock) - oldest > stale_ms:
            minutes = (now_ms(self.clock) - oldest) // 60_000
            found.append(Condition("stale_backlog", name, f"customer {name}: the oldest pending "
                                   f"lead has waited {minutes} min"))
        return found

    def dead_recently(self, customer: str, dead: int) -> bool:
        """Whether the customer's dead-letter count grew within the last window."""
        alerts, now = self.store.alerts, now_ms(self.clock)
        seen, at = alerts.mark(f"dead:{customer}"), alerts.mark(f"dead_at:{customer}")
        if seen is None:                     # first look: today's count is the baseline
            alerts.set_marks({f"dead:{customer}": dead})
            return False
        if dead > int(seen):
            alerts.set_marks({f"dead:{customer}": dead, f"dead_at:{customer}": now})
            return True
        return now - int(at or 0) < defaults.DEAD_LETTER_WINDOW_S * 1000

    def transition(self, condition: Condition, status: str) -> bool:
        """Compare-and-set the alert state; the one caller that changes it queues the alert."""
        alert_id = "alrt_" + uuid.uuid4().hex[:24]
        bodies = payloads(self.config, alert_id, condition, status, self.clock())
        changed = self.store.alerts.transition(
            condition.field, status, now_ms(self.clock),
            {f"{alert_id}.{target}": body for target, body in bodies.items()})
        if changed:
            log.warning("alert %s %s: %s", status, condition.field, condition.summary)
        return changed


def payloads(config: Config, alert_id: str, condition: Condition, status: str,
             now: float) -> dict[str, str]:
    """The body for each configured target: Slack's {"text"}, the webhook's event JSON."""
    out = {}
    if config.alerts.slack_webhook_url:
        mark = ":rotating_light:" if status == "firing" else ":white_check_mark:"
        word = "" if status == "firing" else "resolved: "
        out["slack"] = json.dumps({"text": f"{mark} leadgate {word}{condition.summary}"})
    if config.alerts.webhook_url:
        out["webhook"] = json.dumps({
            "type": f"alert.{status}", "timestamp": time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
            "data": {"id": alert_id, "kind": condition.kind, "subject": condition.subject,
                     "status": status, "summary": condition.summary}}, sort_keys=True)
    return out


class AlertSender:
    """Sends queued alerts with retries; each claimed alert is hidden for a lease meanwhile."""

    def __init__(self, config: Config, store: Store, *, clock: Callable[[], float] = time.time,
                 transport: httpx.BaseTransport | None = None):
        self.config, self.store, self.clock = config, store, clock
        timeout = config.alerts.timeout_s
        self.lease_ms = int((2 * timeout + 2) * 1000)
        self.http = httpx.Client(timeout=httpx.Timeout(timeout), transport=transport)

    def send_due(self, limit: int = 20) -> int:
        """Send the alerts that are due; returns how many were delivered. A target that fails
        is tried once a round: its other alerts wait with the failed one, and the other
        target's alerts go out all the same."""
        alerts = self.store.alerts
        claimed = alerts.claim(now_ms(self.clock), self.lease_ms, limit)
        failed: dict[str, float] = {}           # target -> when its failed alert is due again
        sent = 0
        for delivery in claimed:
            target = delivery.rpartition(".")[2]
            if target in failed:
                alerts.delay(delivery, failed[target])
            elif self.deliver(delivery):
                sent += 1
            elif (due := alerts.due_at(delivery)):
                failed[target] = due
        return sent

    def deliver(self, delivery: str) -> bool:
        """POST one alert; on success forget it, else schedule a retry (or drop it, too old).
        Any failure, not only HTTP's, is caught: one alert never stops the others."""
        record = self.store.alerts.delivery(delivery)
        alert_id, _, target = delivery.rpartition(".")
        alerts = self.config.alerts
        url = alerts.webhook_url if target == "webhook" else alerts.slack_webhook_url
        if not record or not url:
            self.forget(delivery)
            return False
        try:
            answer = self.http.post(url, content=record["body"].encode(),
                                    headers=self.headers(alert_id, target, record["body"]))
            if answer.is_success:
                self.forget(delivery)
                return True
            error = f"HTTP {answer.status_code}"
        except Exception as exc:      # any failure; logged by its name only (no secret)
            error = type(exc).__name__
        self.retry_later(delivery, record, error)
        return False

    def headers(self, alert_id: str, target: str, body: str) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if target == "webhook":
            headers.update(StandardWebhooks().sign(
                StandardWebhooksSettings(secret=self.config.alerts.webhook_secret), body.encode(),
                stamp=str(int(self.clock())), msg_id=alert_id))
        return headers

    def retry_later(self, delivery: str, record: dict[str, str], error: str) -> None:
        attempts = self.store.alerts.add_attempt(delivery)
        if now_ms(self.clock) - int(record.get("created") or 0) > \
                defaults.ALERT_MAX_AGE_S * 1000:
            log.error("alert %s dropped after %d attempts (%s)", delivery, attempts, error)
            self.forget(delivery)
            return
        wait = min(defaults.ALERT_BACKOFF_CAP_S, 2 ** attempts) * (0.5 + random.random() / 2)
        self.store.alerts.delay(delivery, now_ms(self.clock) + int(wait * 1000))
        log.warning("alert %s not sent (%s), retry in %.0fs", delivery, error, wait)

    def forget(self, delivery: str) -> None:
        self.store.alerts.forget(delivery)
