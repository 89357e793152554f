"""`/hooks/<route>`: authenticate, parse, normalize, store in one round trip, answer."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from flask import Blueprint, Request, Response, g, jsonify, request

from gateway.config import Config, Route
from gateway.domain.leads import draft_event
from gateway.domain.sources import SOURCES, Draft, Inbound
from gateway.domain.sources.base import Answer, Outcome
from gateway.errors import BadRequest, Ignored, LeadgateError, RouteNotFound, Unauthorized
from gateway.store.google_match import GoogleMatchIndex, webhook_entry
from gateway.store.store import Store
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
    return g._get_current_object()  # type: ignore[attr-defined]


@bp.route("/hooks/<route>", methods=METHODS, defaults={"url_token": None})
@bp.route("/hooks/<route>/<url_token>", methods=METHODS)
def hook(route: str, url_token: str | None) -> Response | tuple[Any, int]:
    """One provider delivery: authenticate, parse, normalize, store once, answer."""
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
        answer = source.handshake(inbound, spec.settings)
        if answer is None:
            return jsonify({"route": route, "ok": True}), 200
        return Response(answer[1], status=answer[0], mimetype="text/plain")
    source.authenticate(inbound, spec.settings)
    try:
        with readable(spec.source):
            drafts = source.parse(inbound, spec.settings)
            records = [draft_event(spec, source, draft, inbound.now).to_fields()
                       for draft in drafts]
    except Ignored as why:
        g.outcome = "ignored"
        return respond(source.answer(Outcome(ignored=str(why)), inbound, spec.settings))
    store: Store = ctx.store
    added, events = ingest(store, config, spec, drafts, records, inbound.now)
    accepted = sum(added)
    if source.remembered:
        remember(store, spec, [d for d, new in zip(drafts, added, strict=True) if new],
                 [e for e, new in zip(events, added, strict=True) if new], inbound.now)
    seen = _g()
    seen.events, seen.outcome = events, "accepted" if accepted else "duplicate"
    outcome = Outcome(accepted, len(added) - accepted, tuple(events))
    return respond(source.answer(outcome, inbound, spec.settings))


def respond(answer: Answer) -> Response:
    """The source's answer as the HTTP response."""
    return Response(answer.body, answer.status, mimetype=answer.mimetype)


def ingest(store: Store, config: Config, spec: Route, drafts: list[Draft],
           records: list[dict[str, str]], now: float) -> tuple[list[bool], list[str]]:
    """Store the records in one round trip: which were new, and each one's event id. A webhook
    lead that reconciliation stored already under the API's own id is that event's duplicate."""
    remembered = SOURCES[spec.source].remembered
    twins = listed_twins(store, spec, drafts, records, now) if remembered else {}
    fresh = [r for r in records if r["id"] not in twins]
    stored = iter(store.ingest(config.customers[spec.customer], fresh, config.dedup_ttl_s))
    return ([r["id"] not in twins and next(stored) for r in records],
            [twins.get(r["id"], r["id"]) for r in records])


def listed_twins(store: Store, spec: Route, drafts: list[Draft], records: list[dict[str, str]],
                 now: float) -> dict[str, str]:
    """Webhook leads that reconciliation stored already under the API's own id (their event id
    -> that event's): duplicates. A failed look stores them (MEGA then matches the contact)."""
    if not store.index:
        return {}
    lookup, twins = GoogleMatchIndex(store.redis, store.keys), {}
    try:
        for draft, rec in zip(drafts, records, strict=True):
            entry = webhook_entry(store.index, rec["id"], draft, spec.settings.default_region,
                                  now)
            if twin := lookup.listed_twin(spec.name, entry):
                twins[rec["id"]] = twin.event_id
    except redis.RedisError as exc:
        log.warning("webhook leads not matched against reconciliation's",
                    extra={"route": spec.name, "error": type(exc).__name__})
    return twins


def remember(store: Store, spec: Route, drafts: list[Draft], ids: list[str], now: float
             ) -> None:
    """Keep new webhook leads findable by reconciliation. The event is stored already: a
    failure here only weakens matching, so it is logged, not answered with a 5xx."""
    if not store.index or not drafts:
        return
    entries = [webhook_entry(store.index, eid, draft, spec.settings.default_region, now)
               for eid, draft in zip(ids, drafts, strict=True)]
    try:
        GoogleMatchIndex(store.redis, store.keys).remember(spec.name, entries, now)
    except redis.RedisError as exc:
        log.warning("webhook leads not kept for reconciliation's matching",
                    extra={"route": spec.name, "error": type(exc).__name__})


@contextmanager
def readable(source: str) -> Iterator[None]:
    """A parser's slip on an authenticated delivery is a 400, never a 500 (which a provider
    retries for up to 36 hours); the message names no value, the log keeps the traceback."""
    try:
        yield
    except LeadgateError:
        raise
    except Exception as exc:
        log.warning("unreadable delivery", exc_info=exc,
                    extra={"source": source, "error": type(exc).__name__})
        raise BadRequest(f"the {source} delivery has a field of an unexpected shape "
                         f"({type(exc).__name__})") from None


def check_url_token(spec: Route, given: str | None) -> None:
    """Routes with a url_token need it in the path, compared in constant time."""
    expected = spec.settings.url_token
    if expected is None and given is None:
        return
    if expected is None or given is None or not hmac.compare_digest(
            given.encode(), expected.encode()):
        raise Unauthorized("the URL token is missing or wrong")
