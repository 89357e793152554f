"""What each source does on the worker side, by the source name routes use.

`gateway/domain/sources` declares how a source parses and enriches (pure: no outside calls, and no
import of workers/). What calls out lives with the provider in `workers/<provider>/`, and this
registry maps a source name to it. The core (the flush, the reconciliation runner, the health
monitor, backfill) asks here and never names a provider.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.config import Route
from gateway.domain.sources import Draft, Source
from gateway.domain.sources.twins import Twins
from workers.google.health import GoogleHealth
from workers.google.reconcile import GoogleReconciliation
from workers.hubspot.crm import HubSpotClient
from workers.meta.graph import GraphClient
from workers.meta.health import MetaHealth
from workers.meta.reconcile import MetaReconciliation


class Fetcher(Protocol):
    """The client an enrichment step reads leads with (one per worker)."""

    def fetch(self, base_url: str, token: str, ids: list[str], *,
              before_call: Callable[[], None] = ...) -> Any: ...

    def close(self) -> None: ...


class Reconciliation(Twins, Protocol):
    """What a reconciling source provides; its calls raise SourceError. Its twin check
    (gateway/domain/sources/twins.py) is a listed lead's: which are leads stored already by
    the source's own match rules, beyond the event key the store dedups on (Meta: none;
    Google: "gclid", "contact"), and remembering the ones stored for a later webhook."""

    source: Source[Any]

    def streams(self, route: Route) -> list[str]:
        """The route's listings, each with its own watermark (Meta: its forms)."""
        ...

    def listing(self, route: Route, stream: str, *, since: int, until: int,
                page_size: int = ...) -> Iterator[list[Any]]:
        """Pages of the stream's items created after `since`, before `until` (unix s)."""
        ...

    def drafts(self, route: Route, item: Any) -> list[Draft]:
        """The item as its webhook's drafts, the first with a usable lead stored."""
        ...

    def created_at(self, item: Any) -> int | None:
        """When the item was created (unix s), for backfill's progress."""
        ...

    def backfill_refusal(self, since: float, now: float) -> str:
        """Why a listing from `since` cannot be trusted to be complete ('' when it can)."""
        ...

    def close(self) -> None: ...


class HealthCheck(Protocol):
    """What a source with a health check provides (Meta: its token and subscription; Google:
    whether its credentials may still list submissions)."""

    def check(self, route: Route, now: float) -> dict[str, Any] | None:
        """The route's state ("healthy" or why not) with its detail; None when the route has
        nothing to check (Google: no Ads API access configured)."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class WorkerSide:
    """A source's worker-side capabilities, each built from the outside-call timeout (s)."""

    fetcher: Callable[[float], Fetcher] | None = None
    reconciliation: Callable[[float], Reconciliation] | None = None
    health: Callable[[float], HealthCheck] | None = None


def _graph(timeout_s: float) -> Fetcher:
    return GraphClient(timeout_s=timeout_s)


CAPABILITIES: dict[str, WorkerSide] = {
    "meta_lead_ads": WorkerSide(fetcher=_graph,
                                reconciliation=lambda t: MetaReconciliation(timeout_s=t),
                                health=lambda t: MetaHealth(timeout_s=t)),
    "google_lead_forms": WorkerSide(
        reconciliation=lambda t: GoogleReconciliation(timeout_s=t),
        health=lambda t: GoogleHealth(timeout_s=t)),
}
CAPABILITIES["hubspot"] = WorkerSide(fetcher=lambda t: HubSpotClient(timeout_s=t))


def fetchers(timeout_s: float) -> dict[str, Fetcher]:
    """Each enriching source's client, for one worker's lifetime."""
    return {name: side.fetcher(timeout_s) for name, side in CAPABILITIES.items()
            if side.fetcher is not None}
