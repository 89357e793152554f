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
from workers.alerts import AlertSender, Evaluator
from workers.context import WorkerContext
from workers.reconcile import Reconciler
from workers.meta.health import HealthChecker

log = logging.getLogger("leadgate.worker")


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


def start_monitors(ctx: WorkerContext) -> list[threading.Thread]:
    """Start the reconciliation and alert threads of a worker process."""
    reconciler = Reconciler(ctx.config, ctx.store, clock=ctx.clock)
    health = HealthChecker(ctx.config, ctx.store, clock=ctx.clock)
    evaluator, sender = Evaluator(ctx.config, ctx.store, clock=ctx.clock), \
        AlertSender(ctx.config, ctx.store, clock=ctx.clock)
    loops = {
        "leadgate-reconcile": [(health.tick, defaults.RECONCILE_TICK_S),
                               (reconciler.tick, defaults.RECONCILE_TICK_S)],
        "leadgate-alerts": [(evaluator.evaluate, defaults.ALERT_EVAL_S),
                            (sender.send_due, defaults.ALERT_POLL_S)]}
    threads = [threading.Thread(target=every, args=(ctx.stopping, steps, defaults.ALERT_POLL_S),
                                name=name, daemon=True) for name, steps in loops.items()]
    for thread in threads:
        thread.start()
    return threads
