"""The console's charts: on the overview, and a page per customer and per route."""

from __future__ import annotations

from flask import abort, render_template, request

from gateway.web.console import bp, trends
from gateway.web.context import app_context


def span() -> str:
    """The charts' view from the URL: the last 24 h (the default) or 7 days."""
    asked = request.args.get("span", "24h")
    return asked if asked in trends.SPANS else "24h"


def overview_charts() -> dict[str, object]:
    """The overview's charts, every route and customer."""
    ctx = app_context()
    hours = trends.read(ctx.store, ctx.config, span())
    memory = ctx.store.memory_now(ctx.config)
    return {"charts": trends.overview(hours, ctx.config, memory), "span": span(),
            "spans": trends.SPANS, "config_customers": sorted(ctx.config.customers),
            "config_routes": sorted(ctx.config.routes)}


@bp.get("/customers/<name>")
def customer(name: str) -> str:
    """One customer's charts: its routes' webhooks, its deliveries, lag and dead letters."""
    ctx = app_context()
    if name not in ctx.config.customers:
        abort(404, description=f"no customer named {name} in the config")
    ctx.store.metrics.flush()
    hours = trends.read(ctx.store, ctx.config, span())
    routes = sorted(r for r, spec in ctx.config.routes.items() if spec.customer == name)
    return render_template("trends.html", kind="customer", name=name, related=routes,
                           charts=trends.customer(hours, ctx.config, name), span=span(),
                           spans=trends.SPANS)


@bp.get("/routes/<name>")
def route(name: str) -> str:
    """One route's charts: its webhooks per hour by outcome."""
    ctx = app_context()
    spec = ctx.config.routes.get(name)
    if spec is None:
        abort(404, description=f"no route named {name} in the config")
    ctx.store.metrics.flush()
    hours = trends.read(ctx.store, ctx.config, span())
    return render_template("trends.html", kind="route", name=name, related=[spec.customer],
                           charts=trends.route(hours, name), span=span(), spans=trends.SPANS)
