"""The admin API: event status, customers, dead letters. Off unless `server.admin_token` is set."""

from __future__ import annotations

import hmac
import json
from typing import Any

from flask import Blueprint, Response, jsonify, request
from marshmallow import ValidationError

from gateway.errors import BadRequest, InboundError, RouteNotFound, Unauthorized
from gateway.store.route_status import routes_report
from gateway.web.context import app_context
from gateway.web.openapi import DeadLetterQuery, ReplayOptions

bp = Blueprint("admin", __name__, url_prefix="/v1")
JSON_FIELDS = ("lead", "warnings", "unmapped", "ignored_custom_fields", "mega_body", "fields")


class AdminDisabled(InboundError):
    """404: the admin API is off (no admin token is configured)."""

    status_code = 404


@bp.before_request
def _authorize() -> None:
    authorize()


def authorize() -> None:
    """The admin token as a Bearer header; everything behind it is off when it is unset."""
    expected = app_context().config.server.admin_token
    if not expected:
        raise AdminDisabled("the admin API is disabled (set server.admin_token)")
    header = request.headers.get("Authorization", "")
    given = header[7:] if header[:7].lower() == "bearer " else ""
    if not hmac.compare_digest(given.encode(), expected.encode()):
        raise Unauthorized("admin token missing or wrong")


COMPACTED_NOTE = ("details compacted (server.record_retention_hours after it was done): "
                  "only the tombstone is kept")


def public(record: dict[str, str]) -> dict[str, Any]:
    """An event record as the API shows it: JSON fields decoded, numbers as numbers, its
    counts under names that say what they count."""
    out: dict[str, Any] = dict(record)
    for name in JSON_FIELDS:
        if out.get(name):
            try:
                out[name] = json.loads(out[name])
            except ValueError:
                pass
    counts = {"mega_calls": out.pop("mega_calls", "0"),
              "failed_attempts": out.pop("attempts", "0")}   # stored as `attempts`
    if "compacted" in out:
        out["note"] = COMPACTED_NOTE                         # the counts went with the details
    else:
        out.update(counts)
    for name in ("mega_calls", "failed_attempts", "replays", "received_at", "finished_at",
                 "compacted"):
        if name in out and str(out[name]).isdigit():
            out[name] = int(out[name])
    return out


@bp.get("/events/<event_id>")
def event(event_id: str) -> Response:
    """One event's record, as the admin API shows it."""
    event = app_context().store.event(event_id)
    if event is None:
        raise RouteNotFound(f"no event {event_id}")
    return jsonify(public(event.to_fields()))


@bp.get("/customers")
def customers() -> Response:
    """Every customer's summary: where its leads are and why."""
    ctx = app_context()
    names = sorted(ctx.config.customers)
    return jsonify({"customers": {n: ctx.store.customer_summary(n) for n in names}})


@bp.get("/customers/<name>")
def customer(name: str) -> Response:
    """One customer's summary; 404 for a customer the config lacks."""
    ctx = app_context()
    if name not in ctx.config.customers:
        raise RouteNotFound(f"no customer {name}")
    return jsonify({"customer": name, **ctx.store.customer_summary(name)})


@bp.get("/routes")
def routes() -> Response:
    """Every route; Meta routes with their source health and reconciliation."""
    ctx = app_context()
    return jsonify({"routes": routes_report(ctx.config, ctx.store)})


@bp.get("/dead-letters")
def dead_letters() -> Response:
    """A page of dead letters, oldest first, and how many there are."""
    try:
        page = DeadLetterQuery().load(request.args)
    except ValidationError as exc:
        raise BadRequest(f"bad query: {exc.messages}") from None
    offset, limit = page["offset"], page["limit"]
    store = app_context().store
    items = [public(e.to_fields()) for e in store.dead_letters(offset=offset, limit=limit)]
    return jsonify({"total": store.dead_count(), "dead_letters": items})


@bp.post("/dead-letters/<event_id>/replay")
def replay(event_id: str) -> tuple[Response, int]:
    """Queue a dead letter again; `{"new_key": true}` forces a new key."""
    body = request.get_json(silent=True) if request.get_data() else {}
    try:
        new_key = ReplayOptions().load(body if isinstance(body, dict) else {"_": body})["new_key"]
    except ValidationError as exc:
        raise BadRequest(f"bad body: {exc.messages}") from None
    ctx = app_context()
    event = ctx.store.event(event_id)
    customers = ctx.config.customers
    customer = customers.get(event.customer) if event else None
    plan = ctx.store.replay(event_id, customer, new_key=new_key) if customer else None
    if plan is None:
        raise RouteNotFound(f"no dead letter {event_id} of a configured customer")
    return jsonify({"replayed": event_id, "events": plan.ids, "key": plan.key or None,
                    "key_reason": plan.reason, "warning": plan.warning or None}), 202


@bp.delete("/dead-letters/<event_id>")
def purge(event_id: str) -> Response:
    """Delete a dead letter for good."""
    if not app_context().store.purge(event_id):
        raise RouteNotFound(f"no dead letter {event_id}")
    return jsonify({"purged": event_id})
