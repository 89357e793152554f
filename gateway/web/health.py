"""`/healthz` (the process is up), `/readyz` (Redis answers, the config is loaded) and
`/metrics` (Prometheus, for the whole deployment; behind the admin token)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, request

from gateway.errors import StoreUnavailable, cause_name
from gateway.store.metrics import render
from gateway.web.admin import authorize
from gateway.web.context import app_context

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The web process is up."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Ready when Redis answers; 503 otherwise."""
    ctx = app_context()
    try:
        ctx.store.ping()
    except StoreUnavailable as exc:
        return jsonify({"status": "unavailable", "redis": cause_name(exc)}), 503
    return jsonify({"status": "ready", "routes": len(ctx.config.routes)}), 200


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics of every process, behind the admin token."""
    authorize()
    ctx = app_context()
    ctx.store.metrics.flush()           # this process's latest counts, before reading them
    try:
        body, content_type = render(ctx.store, sorted(ctx.config.customers),
                                    max_memory_mb=ctx.config.redis.max_memory_mb,
                                    accept=request.headers.get("Accept"))
    except StoreUnavailable as exc:
        return Response(f"# redis unavailable: {cause_name(exc)}\n", status=503,
                        mimetype="text/plain")
    return Response(body, content_type=content_type)     # as is: mimetype= adds a charset
