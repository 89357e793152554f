"""`/hooks/<route>`: authenticate, parse, normalize, store in one round trip, answer."""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from flask import Blueprint, Request, Response, g, jsonify, request

from gateway.config import Config, Route
from gateway.domain.sources import SOURCES, Inbound
from gateway.domain.sources.base import Outcome
from gateway.errors import Ignored, RouteNotFound, Unauthorized
from gateway.ingest import ingest, readable
from gateway.web.context import app_context

bp = Blueprint("intake", __name__)
METHODS = ["POST", "GET", "HEAD"]
log = logging.getLogger("leadgate.intake")
OUTCOMES = {200: "duplicate", 202: "accepted", 400: "bad_request", 401: "unauthorized",
            403: "forbidden", 404: "unknown_route", 405: "bad_method", 413: "too_large",
            415: "unsupported_type", 422: "no_lead", 503: "unavailable"}


@bp.before_request
def _start() -> None:
    g.started = time.perf_counter()


@bp.after_request
def _record(response: Response) -> Response:
    """One log line and the metrics of every webhook, whatever its answer."""
    ctx, req, seen = app_context(), _request(), _g()   # one lookup each
    seconds = time.perf_counter() - seen.get("started", time.perf_counter())
    route = (req.view_args or {}).get("route", "")
    spec = ctx.config.routes.get(route)
    label = route if spec else "(unknown)"
    outcome = seen.get("outcome") or OUTCOMES.get(response.status_code, "error")
    if req.method != "POST":
        outcome = "check"
    ctx.store.metrics.inc("leadgate_webhooks", route=label, outcome=outcome)
    ctx.store.metrics.observe("leadgate_intake_seconds", seconds, route=label)
    log.info("webhook", extra={"route": label, "customer": spec.customer if spec else None,
                               "events": seen.get("events", []), "status": response.status_code,
                               "outcome": outcome, "duration_ms": round(seconds * 1000, 2)})
    return response


def _request() -> Request:
    """The request itself: each access through Flask's proxy costs ~0.8 µs."""
    return request._get_current_object()  # type: ignore[attr-defined,no-any-return]


def _g() -> Any:
    return g._get_current_object()


@bp.route("/hooks/<route>", methods=METHODS, defaults={"url_token": None})
@bp.route("/hooks/<route>/<url_token>", methods=METHODS)
def hook(route: str, url_token: str | None) -> Response | tuple[Any, int]:
    """One provider delivery: authenticate, parse, ingest (gateway/ingest.py), answer."""
    ctx = app_context()
    config: Config = ctx.config
    spec = config.routes.get(route)
    if spec is None:
        raise RouteNotFound(f"no route named '{route}'")
    check_url_token(spec, url_token)
    source, req = SOURCES[spec.source], _request()
    inbound = Inbound(req.method, req.headers, req.args,
                      req.get_data(cache=True) if req.method == "POST" else b"",
                      req.mimetype, url_token, ctx.clock(), req.url)
    if req.method != "POST":
        check = source.handshake(inbound, spec.settings)
        if check is None:
            return jsonify({"route": route, "ok": True}), 200
        return Response(check[1], status=check[0], mimetype="text/plain")
    source.authenticate(inbound, spec.settings)
    seen = _g()
    try:
        with readable(spec.source):
            drafts = source.parse(inbound, spec.settings)
    except Ignored as why:
        seen.outcome, outcome = "ignored", Outcome(ignored=str(why))
    else:
        done = ingest(ctx.store, spec, drafts, inbound.now, source=source,
                      customer=config.customers[spec.customer], ttl_s=config.dedup_ttl_s)
        seen.events, seen.outcome = done.events, "accepted" if done.accepted else "duplicate"
        outcome = Outcome(done.accepted, done.duplicates, tuple(done.events))
    answer = source.answer(outcome, inbound, spec.settings)
    return Response(answer.body, answer.status, mimetype=answer.mimetype)


def check_url_token(spec: Route, given: str | None) -> None:
    """Routes with a url_token need it in the path, compared in constant time."""
    expected = spec.settings.url_token
    if expected is None and given is None:
        return
    if expected is None or given is None or not hmac.compare_digest(
            given.encode(), expected.encode()):
        raise Unauthorized("the URL token is missing or wrong")
