"""`leadgate worker`: an RQ worker with the dispatcher running beside it."""

from __future__ import annotations

import logging
from types import FrameType
from typing import Any

from rq import SimpleWorker

from gateway.config import Config
from gateway.errors import StoreUnavailable, cause_name
from workers.context import WorkerContext, bind, build_context
from workers.dispatch import Dispatcher
from workers.queue import flush_queue, work, worker_on

log = logging.getLogger("leadgate.worker")
RESTART_PAUSE_S = 1.0


class FlushWorker(SimpleWorker):
    """Runs flush jobs in-process (no fork: the MEGA connection pool lives on).

    On SIGTERM it tells the running flush to hand its customer back after the current
    call, then stops; a SIGKILLed flush is resumed by another worker when its lease ends.
    """

    leadgate: WorkerContext | None = None

    def request_stop(self, signum: Any, frame: FrameType | None) -> None:
        """Tell the dispatcher and the flushes to stop, then stop as RQ does."""
        if self.leadgate is not None:
            self.leadgate.stopping.set()
        super().request_stop(signum, frame)  # type: ignore[no-untyped-call]


def make_worker(ctx: WorkerContext) -> tuple[FlushWorker, Dispatcher]:
    """The RQ worker, carrying the context, and the dispatcher over its queue."""
    queue = flush_queue(ctx)
    worker = worker_on(queue, FlushWorker)
    worker.leadgate = ctx
    return worker, Dispatcher(ctx, queue)


def run_worker(config: Config, *, burst: bool = False) -> None:
    """Work until stopped (or, with burst, until the queue is empty)."""
    ctx = build_context(config)
    bind(ctx)
    worker: FlushWorker | None
    worker, dispatcher = make_worker(ctx)
    if not burst:
        dispatcher.start()
        from workers.monitors import start_monitors  # after the dispatcher: deliveries first

        start_monitors(ctx)
    try:
        while True:
            try:
                if worker is None:
                    worker, _ = make_worker(ctx)
                work(worker, burst=burst)
            except StoreUnavailable as exc:
                if burst:
                    raise
                log.warning("the RQ loop stopped on a Redis error (%s)", cause_name(exc))
            if burst or ctx.stopping.is_set():
                break
            # RQ gives up its loop on a Redis error in the middle of a job; a worker dyno must
            # not: start a new RQ worker once Redis answers. The batch in flight is resumed
            # when its lease ends, by this worker or another.
            worker = None
            ctx.stopping.wait(RESTART_PAUSE_S)
    finally:
        ctx.close()
