"""Who leadgate delivers for and where leads come in: a MEGA customer and a webhook route."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway import defaults
from gateway.domain.sources.settings import RouteSettings


@dataclass(frozen=True)
class Customer:
    """One MEGA customer (tenant); its repr leaves out the token."""

    name: str
    customer_id: str
    token: str = field(repr=False)
    delivery: str = "auto"
    max_batch: int = defaults.MAX_BATCH
    linger_ms: int = defaults.LINGER_MS
    on_duplicate: str = "update"

    @property
    def wait_ms(self) -> int:
        """How long a new lead waits for company: never, when each lead is sent on its own."""
        return 0 if self.delivery == "single" else self.linger_ms


@dataclass(frozen=True)
class Route:
    """One webhook route; its repr leaves out the settings (secrets and tokens)."""

    name: str
    customer: str
    source: str
    lead: dict[str, Any] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    settings: RouteSettings = field(default_factory=RouteSettings, repr=False)   # its source's
