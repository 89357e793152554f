"""`leadgate worker`: an RQ worker with the dispatcher running beside it."""

from __future__ import annotations

import logging
from types import FrameType
from typing import Any

from rq import Queue, SimpleWorker

from gateway import defaults
from gateway.config import Config
from workers.context import WorkerContext, bind, build_context
from workers.dispatch import Dispatcher

log = logging.getLogger("leadgate.worker")


class FlushWorker(SimpleWorker):
    """Runs flush jobs in-process (no fork: the MEGA connection pool lives on).

    On SIGTERM it tells the running flush to hand its customer back after the current
    call, then stops; a SIGKILLed flush is resumed by another worker when its lease ends.
    """

    leadgate: WorkerContext | None = None

    def request_stop(self, signum: Any, frame: FrameType | None) -> None:
        if self.leadgate is not None:
            self.leadgate.stopping.set()
        super().request_stop(signum, frame)


def make_worker(ctx: WorkerContext) -> tuple[FlushWorker, Dispatcher]:
    queue = Queue(defaults.QUEUE_NAME, connection=ctx.redis)
    worker = FlushWorker([queue], connection=ctx.redis)
    worker.leadgate = ctx
    return worker, Dispatcher(ctx, queue)


def run_worker(config: Config, *, burst: bool = False) -> None:
    """Work until stopped (or, with burst, until the queue is empty)."""
    ctx = build_context(config)
    bind(ctx)
    worker, dispatcher = make_worker(ctx)
    if not burst:
        dispatcher.start()
    try:
        worker.work(burst=burst, logging_level="WARNING", with_scheduler=False)
    finally:
        ctx.stopping.set()
        ctx.store.metrics.flush()
        ctx.mega.close()
        ctx.graph.close()
