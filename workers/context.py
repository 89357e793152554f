"""What a worker process keeps for its lifetime, and how jobs find it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.config import Config, load_config
from gateway.mega.client import MegaClient
from gateway.store.connection import StoreClient, connect
from gateway.store.index import Index
from gateway.store.store import Store, acknowledged, require_redis_url
from workers.capabilities import Fetcher, fetchers


@dataclass
class WorkerContext:
    """A worker process's long-lived clients (Redis, MEGA, sources) and its stop signal."""

    config: Config
    redis: StoreClient
    store: Store
    mega: MegaClient
    fetchers: dict[str, Fetcher]       # enriching sources' clients, by source name
    clock: Callable[[], float] = time.time
    stopping: threading.Event = field(default_factory=threading.Event)

    def close(self) -> None:
        """Stop the threads that use this context (dispatcher, monitors, metrics) and close
        its clients; the metrics' last counts are written first."""
        self.stopping.set()
        self.store.close()
        self.mega.close()
        for fetcher in self.fetchers.values():
            fetcher.close()


def build_context(config: Config, *, clock: Callable[[], float] = time.time) -> WorkerContext:
    """Long-lived clients for a worker: Redis (no socket timeout: jobs block), MEGA and the
    enriching sources' APIs."""
    client = connect(require_redis_url(config, "worker"), socket_timeout=30)
    mega = MegaClient(base_url=config.mega.base_url, timeout_s=config.mega.timeout_s)
    store = Store(client, clock=clock, index=Index.from_config(config), **acknowledged(config))
    store.metrics.start()          # marks each hour this process is alive (the charts' gaps)
    return WorkerContext(config, client, store, mega, fetchers(config.mega.timeout_s),
                         clock)


_bound: WorkerContext | None = None


def bind(ctx: WorkerContext | None) -> None:
    """Make ctx the one jobs of this process use."""
    global _bound
    _bound = ctx


def current() -> WorkerContext:
    """The bound context; a process started by plain `rq worker` builds one from the config."""
    if _bound is None:
        bind(build_context(load_config()))
    assert _bound is not None
    return _bound
