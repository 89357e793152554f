"""The web app factory: config, Redis, store and blueprints wired in one place."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Response, jsonify
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from gateway.config import Config, config_from_dict, load_config
from gateway.errors import InboundError
from gateway.mega.contract import error_body
from gateway.store.connection import connect
from gateway.store.index import Index
from gateway.store.store import Store, acknowledged, require_redis_url
from gateway.web import admin, console, health, intake, openapi
from gateway.web import imports as imports_api
from gateway.web.context import AppContext

log = logging.getLogger("leadgate.web")


def create_app(config: Config | dict[str, Any] | None = None, *,
               clock: Callable[[], float] = time.time) -> Flask:
    """Build the web app; with no config, read LEADGATE_CONFIG (or ./leadgate.toml)."""
    if config is None:
        config = load_config()
    elif isinstance(config, dict):
        config = config_from_dict(config)
    app = Flask("leadgate")
    app.config["MAX_CONTENT_LENGTH"] = config.server.max_body_bytes
    _trust_proxies(app, config.server.trusted_proxies)
    client = connect(require_redis_url(config, "web"))
    store = Store(client, clock=clock, index=Index.from_config(config), **acknowledged(config))
    store.metrics.start()          # marks each hour this process is alive (the charts' gaps)
    AppContext(config, client, store, clock).attach(app)
    app.register_blueprint(intake.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(imports_api.bp)
    app.register_blueprint(openapi.bp)
    console.init_app(app)
    app.register_error_handler(InboundError, _inbound_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)
    return app


def _trust_proxies(app: Flask, hops: int) -> None:
    """Believe X-Forwarded-For and -Proto from that many proxies in front (Heroku's router: 1),
    so the client address and HTTPS are the ones the outermost trusted proxy saw; with none,
    the peer's address and scheme, whatever headers a client sends."""
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]


def _inbound_error(exc: InboundError) -> tuple[Response, int]:
    response = jsonify(error_body(exc.status_code, exc.message))
    if retry_after := getattr(exc, "retry_after_s", None):      # a full or unconfirmed store
        response.headers["Retry-After"] = str(retry_after)
    return response, exc.status_code


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    response = jsonify(error_body(status, exc.description or exc.name))
    for name, value in exc.get_headers():          # Allow on a 405, for one
        if name.lower() != "content-type":
            response.headers[name] = value
    return response, status


def _unexpected(exc: Exception) -> tuple[Response, int]:
    log.error("unexpected error: %s", type(exc).__name__, exc_info=exc)
    return jsonify(error_body(500, "internal error")), 500
