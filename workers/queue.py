"""RQ's side of Redis, the one place outside gateway/store/ that hands a Redis client on: RQ
takes a connection, and handles redis-py's own errors. It gets a plain client on the store's
pool; what RQ raises out of a call here becomes StoreUnavailable, as the store's errors do."""

from __future__ import annotations

from typing import Any, TypeVar

from rq import Queue
from rq.worker.base import BaseWorker

from gateway import defaults
from gateway.store.connection import plain, translated
from workers.context import WorkerContext

W = TypeVar("W", bound=BaseWorker)


def flush_queue(ctx: WorkerContext) -> Queue:
    """The queue of flush jobs, on a plain client sharing the store's connections."""
    return Queue(defaults.QUEUE_NAME, connection=plain(ctx.redis))


def worker_on(queue: Queue, worker_class: type[W]) -> W:
    """An RQ worker of worker_class over queue, on the queue's connection (RQ asks Redis
    while it makes one: a Redis that does not answer is StoreUnavailable here too)."""
    with translated():
        return worker_class([queue], connection=queue.connection)


def enqueue(queue: Queue, func: str, *args: Any, **options: Any) -> None:
    """Enqueue one job; StoreUnavailable when Redis does not take it."""
    with translated():
        queue.enqueue(func, *args, **options)


def work(worker: BaseWorker, *, burst: bool) -> None:
    """Run the RQ loop until it stops; StoreUnavailable when it stopped on a Redis error."""
    with translated():
        worker.work(burst=burst, logging_level="WARNING", with_scheduler=False)
