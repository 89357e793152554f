"""What the operator sees of a route whose source lists its leads (Meta, Google): its
reconciliation and source health, read from Redis (the workers write them) for `leadgate
status`, `GET /v1/routes`, the console and the alerts."""

from __future__ import annotations

import time
from typing import Any

from gateway.config import Config, Route
from gateway.domain.sources import SOURCES
from gateway.domain.sources.settings import ReconcileSettings
from gateway.store.store import Store, translated


def lists_leads(route: Route) -> bool:
    """Whether the route's source lists its leads (reconciliation, backfill, health)."""
    source = SOURCES.get(route.source)
    return bool(source and source.lists_leads)


def reconciles(route: Route) -> bool:
    """Reconciliation on: a source that lists leads, what listing needs (Meta: a page or forms;
    Google: the Ads API's access), every_min above 0."""
    return lists_leads(route) and every_min(route) > 0 and \
        not SOURCES[route.source].listing_needs(route.settings)


def every_min(route: Route) -> int:
    """How often the route reconciles (min; 0: its source does not)."""
    settings = route.settings
    return settings.reconcile_every_min if isinstance(settings, ReconcileSettings) else 0


def reconcile_report(store: Store, route: Route) -> dict[str, Any]:
    """A route's reconciliation: last run, leads seen, leads the webhook missed, errors."""
    raw = store.reconcile_state(route.name)
    on = reconciles(route)
    number = {name: int(raw.get(name) or 0) for name in (
        "last_run_ms", "last_ok_ms", "next_at_ms", "seen", "missed", "last_seen", "last_missed")}
    return {"enabled": on, "every_min": every_min(route) if on else 0,
            **number, "last_error": raw.get("last_error") or None,
            "matched": {k[8:]: int(v) for k, v in raw.items() if k.startswith("matched:")},
            "watermarks": {k[3:]: int(v) for k, v in raw.items() if k.startswith("wm:")}}


def health_report(store: Store) -> dict[str, dict[str, Any]]:
    """The last source-health check of every checked route."""
    return store.source_health()


def routes_report(config: Config, store: Store) -> dict[str, dict[str, Any]]:
    """Every route; those whose source lists its leads with their reconciliation and source
    health."""
    with translated():
        health = health_report(store)
        return {name: {"customer": r.customer, "source": r.source,
                       **({"reconcile": reconcile_report(store, r),
                           "health": health.get(name)} if lists_leads(r) else {})}
                for name, r in sorted(config.routes.items())}


def health_label(health: dict[str, Any] | None) -> str:
    """A health state in words: "token expiring in 5 days", "healthy", "not checked"..."""
    if not health:
        return "not checked"
    state, days = health["state"], health.get("days_left")
    if state == "token_expiring":
        return f"token expiring in {days} days"
    if state == "healthy" and days is not None:
        return f"healthy (token expires in {days} days)"
    return str(state).replace("_", " ")


def reconcile_facts(report: dict[str, Any]) -> dict[str, str]:
    """A route's reconciliation, each fact once: when it last ran, the leads it saw, those
    the webhook missed, its last error."""
    if not report["enabled"]:
        return {"reconcile": "off"}
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(report["last_run_ms"] / 1000)) \
        if report["last_run_ms"] else "never"
    facts = {"reconciled": when, "seen": str(report["seen"]),
             "missed by webhook": str(report["missed"])}
    return facts | ({"error": report["last_error"]} if report["last_error"] else {})


def reconcile_label(report: dict[str, Any]) -> str:
    """A route's reconciliation in one line."""
    facts = reconcile_facts(report)
    error = facts.pop("error", "")
    return ", ".join(f"{name} {value}" for name, value in facts.items()) + \
        (f", error: {error}" if error else "")
