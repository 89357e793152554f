"""A step a source declares when its webhooks only name a lead: the worker runs it before a
batch is frozen, with the fetch it provides (an outside call, renewing the flush's lease).

Meta's (gateway/domain/sources/providers/meta_leads.py) reads each lead from the Graph API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.domain.event import Event

Events = list[Event]


@dataclass
class Enriched:
    """What a step found: fields to store per event, and why the others cannot be had."""

    records: dict[str, dict[str, str]] = field(default_factory=dict)
    gone: dict[str, str] = field(default_factory=dict)


class Fetch(Protocol):
    """The worker's client for the source's API: leads by id, and the ids it says are gone."""

    def __call__(self, base_url: str, token: str, ids: list[str]) -> Any: ...


class Enrichment(Protocol):
    """A source's enrichment step: the lead records of stored events, fetched from the provider."""

    def run(self, route: Any, events: Events, fetch: Fetch) -> Enriched:
        """The lead records of these events of one route; route-wide failures raise."""
        ...
