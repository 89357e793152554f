"""The worker's background threads beside the dispatcher: reconciliation with source health,
and alerts (evaluated and sent on their own thread, so a slow alert target never holds up
reconciliation, and neither ever holds up delivery)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from gateway import defaults
from gateway.config import Config
from gateway.store.store import Store, now_ms
from workers.alerts import AlertSender, Evaluator
from workers.capabilities import CAPABILITIES, HealthCheck
from workers.context import WorkerContext
from workers.reconcile import Reconciler

log = logging.getLogger("leadgate.worker")


class HealthChecker:
    """Checks every route whose source declares a health check when due; keeps the results."""

    def __init__(self, config: Config, store: Store, *, clock: Callable[[], float] = time.time,
                 every_s: float = defaults.HEALTH_EVERY_S):
        self.config, self.store, self.clock, self.every_s = config, store, clock, every_s
        self.checks: dict[str, HealthCheck] = {}
        self._next = 0.0          # a worker checks at start, then every every_s

    def tick(self) -> None:
        if self.clock() >= self._next:
            self.check_all()
            self._next = self.clock() + self.every_s

    def of(self, source: str) -> HealthCheck | None:
        """The source's health check (made once, kept for this thread), or None."""
        side = CAPABILITIES.get(source)
        if source not in self.checks and side and side.health:
            self.checks[source] = side.health(self.config.mega.timeout_s)
        return self.checks.get(source)

    def check_all(self) -> dict[str, dict[str, Any]]:
        """Check every such route now and store the results."""
        results = {r.name: {**state, "checked_at_ms": now_ms(self.clock)}
                   for r in self.config.routes.values()
                   if (check := self.of(r.source)) and (state := check.check(r, self.clock()))}
        if results:
            self.store.note_source_health(results)
        for name, result in results.items():
            if result["state"] != "healthy":
                log.warning("source health of %s: %s (%s)", name, result["state"],
                            result["detail"])
        return results

    def close(self) -> None:
        for check in self.checks.values():
            check.close()


def every(stopping: threading.Event, steps: list[tuple[Callable[[], Any], float]],
          tick_s: float) -> None:
    """Run each step at its own interval (the first time at once) until stopped; nothing that
    goes wrong in a step ends the loop."""
    due = [0.0] * len(steps)
    while not stopping.is_set():
        for i, (step, interval) in enumerate(steps):
            if time.monotonic() >= due[i]:
                due[i] = time.monotonic() + interval
                try:
                    step()
                except Exception as exc:  # Redis away, a bug: logged, tried again later
                    log.warning("%s: %s: %s", getattr(step, "__qualname__", step),
                                type(exc).__name__, exc)
        stopping.wait(tick_s)


def compact_due(ctx: WorkerContext) -> int:
    """Shrink the leads terminal for `server.record_retention_hours` to tombstones."""
    done = 0
    while not ctx.stopping.is_set():
        taken = ctx.store.compact(retention_ms=ctx.config.record_retention_ms,
                                  dedup_ttl_s=ctx.config.dedup_ttl_s)
        done += taken
        if taken < defaults.COMPACT_BATCH:
            return done
    return done


def start_monitors(ctx: WorkerContext) -> list[threading.Thread]:
    """Start the reconciliation and alert threads of a worker process."""
    reconciler = Reconciler(ctx.config, ctx.store, clock=ctx.clock)
    health = HealthChecker(ctx.config, ctx.store, clock=ctx.clock)
    evaluator, sender = Evaluator(ctx.config, ctx.store, clock=ctx.clock), \
        AlertSender(ctx.config, ctx.store, clock=ctx.clock)
    loops = {
        "leadgate-reconcile": [(health.tick, defaults.RECONCILE_TICK_S),
                               (reconciler.tick, defaults.RECONCILE_TICK_S),
                               (lambda: compact_due(ctx), defaults.COMPACT_TICK_S)],
        "leadgate-alerts": [(evaluator.evaluate, defaults.ALERT_EVAL_S),
                            (sender.send_due, defaults.ALERT_POLL_S)]}
    threads = [threading.Thread(target=every, args=(ctx.stopping, steps, defaults.ALERT_POLL_S),
                                name=name, daemon=True) for name, steps in loops.items()]
    for thread in threads:
        thread.start()
    return threads
