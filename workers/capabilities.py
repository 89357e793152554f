"""What each source does on the worker side, by the source name routes use.

`gateway/sources` declares how a source parses and enriches (pure: no outside calls, and no
import of workers/). What calls out lives with the provider in `workers/<provider>/`, and this
registry maps a source name to it. The core (the flush, the reconciliation runner, the health
monitor, backfill) asks here and never names a provider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from workers.meta.graph import GraphClient
from workers.meta.health import MetaHealth
from workers.meta.reconcile import MetaReconciliation


class Fetcher(Protocol):
    """The client an enrichment step reads leads with (one per worker)."""

    def fetch(self, base_url: str, token: str, ids: list[str], *,
              before_call: Callable[[], None] = ...) -> Any: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class WorkerSide:
    """A source's worker-side capabilities, each built from the outside-call timeout (s)."""

    fetcher: Callable[[float], Fetcher] | None = None
    reconciliation: Callable[[float], Any] | None = None     # workers/reconcile.Reconciliation
    health: Callable[[float], Any] | None = None             # workers/monitors.HealthCheck


def _graph(timeout_s: float) -> Fetcher:
    return GraphClient(timeout_s=timeout_s)


CAPABILITIES: dict[str, WorkerSide] = {
    "meta_lead_ads": WorkerSide(fetcher=_graph,
                                reconciliation=lambda t: MetaReconciliation(timeout_s=t),
                                health=lambda t: MetaHealth(timeout_s=t)),
}


def fetchers(timeout_s: float) -> dict[str, Fetcher]:
    """Each enriching source's client, for one worker's lifetime."""
    return {name: side.fetcher(timeout_s) for name, side in CAPABILITIES.items()
            if side.fetcher is not None}
