"""`/healthz` (the process is up) and `/readyz` (Redis answers, the config is loaded)."""

from __future__ import annotations

import redis
from flask import Blueprint, Response, current_app, jsonify

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    ctx = current_app.extensions["leadgate"]
    try:
        ctx.redis.ping()
    except redis.RedisError as exc:
        return jsonify({"status": "unavailable", "redis": type(exc).__name__}), 503
    return jsonify({"status": "ready", "routes": len(ctx.config.routes)}), 200
