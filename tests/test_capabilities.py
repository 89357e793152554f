"""The worker-side registry (workers/capabilities.py): each source name maps to the clients
of its own provider, built with the outside-call timeout, and only enriching sources get a
fetcher."""

from __future__ import annotations

from typing import Any

import pytest

from gateway import defaults
from gateway.domain.sources import SOURCES
from workers.capabilities import CAPABILITIES, fetchers
from workers.google.health import GoogleHealth
from workers.google.reconcile import GoogleReconciliation
from workers.meta.graph import GraphClient
from workers.meta.health import MetaHealth
from workers.meta.reconcile import MetaReconciliation


def timeout_of(capability: Any) -> float:
    """The timeout the client under a capability was built with."""
    client = getattr(capability, "pages", None) or getattr(capability, "ads", None) \
        or capability
    return float(client.timeout_s)


def test_only_the_enriching_sources_get_a_fetcher_built_with_the_timeout() -> None:
    made = fetchers(7.5)
    try:
        assert set(made) == {"meta_lead_ads"}
        assert isinstance(made["meta_lead_ads"], GraphClient)
        assert timeout_of(made["meta_lead_ads"]) == 7.5
    finally:
        for fetcher in made.values():
            fetcher.close()


def test_every_registered_name_is_a_source_of_the_domain() -> None:
    assert set(CAPABILITIES) <= set(SOURCES)


@pytest.mark.parametrize(("name", "reconciliation", "health"), [
    ("meta_lead_ads", MetaReconciliation, MetaHealth),
    ("google_lead_forms", GoogleReconciliation, GoogleHealth)])
def test_a_source_name_builds_its_own_providers_clients(name: str, reconciliation: type,
                                                       health: type) -> None:
    side = CAPABILITIES[name]
    assert side.reconciliation is not None and side.health is not None
    listing, checking = side.reconciliation(3.0), side.health(4.0)
    try:
        assert isinstance(listing, reconciliation) and isinstance(checking, health)
        assert listing.source is SOURCES[name]
        assert (timeout_of(listing), timeout_of(checking)) == (3.0, 4.0)
    finally:
        listing.close()
        checking.close()


def test_each_reconciliation_says_how_far_back_its_listing_is_complete() -> None:
    now = 1_700_000_000.0
    old = now - (defaults.GOOGLE_RETENTION_DAYS + 1) * 86400
    built = {name: side.reconciliation(1.0) for name, side in CAPABILITIES.items()
             if side.reconciliation is not None}
    try:
        google, meta = built["google_lead_forms"], built["meta_lead_ads"]
        assert f"more than {defaults.GOOGLE_RETENTION_DAYS} days ago" in \
            google.backfill_refusal(old, now)
        assert google.backfill_refusal(now - 86400, now) == ""
        assert meta.backfill_refusal(old, now) == ""
    finally:
        for listing in built.values():
            listing.close()
