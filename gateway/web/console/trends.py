"""The console's charts, from the hourly history: the overview's, a customer's, a route's."""

from __future__ import annotations

from gateway.config import Config
from gateway.store.headroom import Memory
from gateway.store.state.history import LAG_BUCKETS, ROUTE_KINDS, Hour, quantile
from gateway.store.store import Store
from gateway.web.console.charts import Chart

SPANS = {"24h": 24, "7d": 7 * 24}          # the charts' views, in hours
LAG_TOP = LAG_BUCKETS[-1] * 2              # where a lag past the last bucket is drawn, s


def read(store: Store, config: Config, span: str) -> list[Hour]:
    """The span's hours, the current one last, by the app's clock."""
    hours = SPANS.get(span, 24)
    now = int(store.clock())
    first = now - now % 3600 - (hours - 1) * 3600
    return store.history.read(sorted(config.routes), sorted(config.customers), first, hours)


def overview(hours: list[Hour], config: Config, memory: Memory) -> list[Chart]:
    """Accepted and delivered by route and customer, lag, dead letters, Redis memory."""
    routes, customers = sorted(config.routes), sorted(config.customers)
    return [accepted(hours, routes), delivered(hours, customers), lag(hours, customers),
            dead(hours, customers), used_memory(hours, memory)]


def customer(hours: list[Hour], config: Config, name: str) -> list[Chart]:
    """One customer's: its routes' webhooks accepted, its delivered, lag and dead letters."""
    routes = sorted(r for r, spec in config.routes.items() if spec.customer == name)
    return [accepted(hours, routes), delivered(hours, [name]), lag(hours, [name]),
            dead(hours, [name])]


def route(hours: list[Hour], name: str) -> list[Chart]:
    """One route's webhooks per hour by outcome, and its accepted ones."""
    return [_chart("Webhooks per hour, by outcome", "webhooks", hours,
                   {kind: [h.routes[name][kind] for h in hours] for kind in ROUTE_KINDS}),
            accepted(hours, [name])]


def accepted(hours: list[Hour], routes: list[str]) -> Chart:
    """Webhooks accepted per hour, stacked by route."""
    return _chart("Webhooks accepted per hour, by route", "webhooks", hours,
                  {r: [h.routes[r]["accepted"] for h in hours] for r in routes})


def delivered(hours: list[Hour], customers: list[str]) -> Chart:
    """Leads MEGA accepted per hour, stacked by customer."""
    return _chart("Leads delivered per hour, by customer", "leads", hours,
                  {c: [h.customers[c]["delivered"] for h in hours] for c in customers})


def dead(hours: list[Hour], customers: list[str]) -> Chart:
    """Leads that became dead letters per hour, stacked by customer."""
    return _chart("Dead letters per hour, by customer", "leads", hours,
                  {c: [h.customers[c]["dead"] for h in hours] for c in customers})


def lag(hours: list[Hour], customers: list[str]) -> Chart:
    """Webhook received to MEGA accepted, p50 over p95 per hour (bucket upper bounds)."""
    merged = [[sum(col) for col in zip(*(h.customers[c]["lag"] for c in customers),
                                       strict=True)] if customers else [] for h in hours]
    series = {f"p{round(q * 100)}": [_capped(quantile(b, q)) for b in merged]
              for q in (0.5, 0.95)}
    return _chart("Delivery lag per hour (received → MEGA accepted)", "seconds", hours,
                  series, overlay=True, text=_lag_words)


def used_memory(hours: list[Hour], memory: Memory) -> Chart:
    """Redis's highest used memory per hour against its limit now."""
    return _chart("Redis memory used (highest per hour) against its limit", "MB", hours,
                  {"used": [h.memory / 1e6 for h in hours]}, limit=memory.limit / 1e6 or None,
                  text=lambda v: f"{v:.1f}")


def _chart(title: str, unit: str, hours: list[Hour], series: dict[str, list[float | None]],
           **options: object) -> Chart:
    return Chart(title, unit, [h.start for h in hours], [h.alive for h in hours],
                 list(series.items()), **options)  # type: ignore[arg-type]


def _capped(value: float | None) -> float | None:
    return None if value is None else min(value, LAG_TOP)


def _lag_words(value: float) -> str:
    if value > LAG_BUCKETS[-1]:
        return f"> {LAG_BUCKETS[-1]:g}"
    return f"≤ {value:g}" if value in LAG_BUCKETS else f"{value:g}"
