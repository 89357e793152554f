"""The console's pages: overview, events (filters, contact search), an event, dead letters."""

from __future__ import annotations

import logging
from typing import Any

from flask import abort, g, redirect, render_template, request, session, url_for

from gateway import defaults
from gateway.domain.records import Replay
from gateway.store.headroom import read_settings
from gateway.store.store import now_ms
from gateway.web.console import bp, pages, read, sessions, state
from gateway.web.console.auth import client_tag, session_tag
from gateway.web.context import app_context

log = logging.getLogger("leadgate.console")
DEAD_FILTERS = ("customer", "route", "dead_reason")
BULK_LIMIT = 100_000               # dead letters a bulk replay or purge reads at most
DEAD_PAGE = 500                    # dead letters listed on the page (oldest first)


def _regions() -> list[str]:
    routes = app_context().config.routes.values()
    return sorted({r.settings.default_region for r in routes})


@bp.get("/")
def overview() -> str:
    """Customers, routes, dead letters and Redis memory at a glance."""
    return render_template("overview.html", **_overview(), **pages.overview_charts())


@bp.get("/overview")
def overview_fragment() -> str:
    """What the overview page polls (htmx) to refresh itself."""
    return render_template("_overview.html", **_overview())


def _overview() -> dict[str, Any]:
    ctx = app_context()
    store, config = ctx.store, ctx.config
    store.metrics.flush()          # this process's latest counts first
    return {"customers": state.customers(store, config),
            "routes": state.routes(store, config), "dead_total": store.dead_count(),
            "memory": store.memory_now(config),     # the bar's colours: alert levels
            "settings": read_settings(store.server_info(), config),
            "memory_low": defaults.MEMORY_RESOLVED_PERCENT,
            "memory_high": defaults.MEMORY_ALERT_PERCENT[0]}


@bp.get("/events")
def events() -> str:
    """Events, newest first, filtered by the URL's query."""
    return _events(read.Query.from_args(request.args))


def _events(query: read.Query, problem: str = "") -> str:
    ctx = app_context()
    page, cursor = read.find_events(ctx.store, query) if not problem else ([], "")
    rows = [{**r, "masked": read.masked(r)} for r in page]
    config = ctx.config
    search = sessions.last_search(g.console)
    q = search.get("q", "") if query.contact and search.get("contact") == query.args().get(
        "contact") else ""
    left_out = read.left_out(ctx.store, query) if not problem else []
    return render_template("events.html", query=query, rows=rows, cursor=cursor, q=q,
                           problem=problem, next_args={**query.args(), "cursor": cursor},
                           left_out=left_out, day_limit=defaults.CONTACT_DAY_LIMIT,
                           customers=sorted(config.customers), routes=sorted(config.routes),
                           sources=sorted({r.source for r in config.routes.values()}),
                           windows=read.WINDOWS)


@bp.post("/search")
def search() -> Any:
    """A contact search: the email or phone comes in a POST body and leaves as index digests
    in the events URL, so no URL (router logs, history) ever holds it."""
    query = read.Query.from_args(request.form)
    q = request.form.get("q", "").strip()
    if q:
        store = app_context().store
        query.contact = store.index.query_digests(q, _regions()) if store.index else []
        if not query.contact:
            return _events(query, f"“{q}” is not an email address or a phone number")
        sessions.remember_search(store, session["sid"], q, ".".join(query.contact))
    args: dict[str, Any] = query.args()
    return redirect(url_for("console.events", **args))


def _record(event_id: str) -> dict[str, str]:
    """The event's fields as the templates show them, or a 404."""
    found = app_context().store.event(event_id)
    if found is None:
        abort(404, f"There is no event {event_id}: the id is not one leadgate received, or "
                   "the event was purged or is past its deduplication window.")
    return found.to_fields()


@bp.get("/events/<event_id>")
def event(event_id: str) -> str:
    """One event: its record masked, its timeline, and how a replay would go."""
    ctx = app_context()
    store, config = ctx.store, ctx.config
    record = _record(event_id)
    attempts = store.attempts(event_id)
    return render_template("event.html", e=record, masked=read.masked(record),
                           row=read.masked_row(record), timeline=state.timeline(record, attempts),
                           counts=state.counts(record, attempts),
                           warnings=read.masked_json(record.get("warnings")),
                           unmapped=read.masked_json(record.get("unmapped")),
                           replay_note=state.replay_note(store, config, record),
                           retention_hours=config.server.record_retention_hours)


@bp.post("/events/<event_id>/reveal")
def reveal(event_id: str) -> str:
    """The unmasked contact; every reveal is logged as an access (never the contact)."""
    record = _record(event_id)
    log.info("console contact revealed", extra={"event_id": event_id, "session": session_tag(),
                                                "client": client_tag()})
    return render_template("_contact.html", contact=read.contacts(record), revealed=True,
                           e=record)


# -- dead letters ---------------------------------------------------------------------------
def _dead_matching(args: Any) -> list[dict[str, str]]:
    wanted = {k: args[k] for k in DEAD_FILTERS if args.get(k)}
    ids = args.getlist("id")
    return [r for r in (e.to_fields() for e in app_context().store.dead_letters(limit=BULK_LIMIT))
            if all(r.get(k) == v for k, v in wanted.items()) and (not ids or r["id"] in ids)]


@bp.get("/dead")
def dead() -> str:
    """Dead letters, filtered or one page of them, with their masked contacts."""
    if any(request.args.get(k) for k in DEAD_FILTERS):
        matching = _dead_matching(request.args)
        total = len(matching)
    else:                          # no filter: one page, without reading every dead letter
        store = app_context().store
        matching = [e.to_fields() for e in store.dead_letters(limit=DEAD_PAGE)]
        total = store.dead_count()
    rows = [{**r, "masked": read.masked(r)} for r in matching[:DEAD_PAGE]]
    config = app_context().config
    return render_template("dead.html", rows=rows, total=total, args=request.args,
                           customers=sorted(config.customers), routes=sorted(config.routes))


@bp.post("/dead/<action>")
def dead_action(action: str) -> Any:
    """Replay or purge one dead letter or all matching a filter: first a confirmation that
    says how many (and, for a replay, under which key), then the deed."""
    if action not in ("replay", "purge"):
        abort(404)
    ctx = app_context()
    matching = _dead_matching(request.form)
    confirmed = request.form.get("confirm") == "yes"
    if not confirmed or request.form.get("expected") != str(len(matching)):
        changed = confirmed        # more (or fewer) match than the operator agreed to: ask again
        return render_template("confirm.html", action=action, rows=matching,
                               form=request.form, changed=changed,
                               note=state.replay_note(ctx.store, ctx.config, matching[0])
                               if len(matching) == 1
                               else state.REPLAY_RULE)
    done: set[str] = set()
    customers = ctx.config.customers
    for record in matching:
        if action == "purge":
            if ctx.store.purge(record["id"]):
                done.add(record["id"])
        elif record.get("customer") in customers and (plan := ctx.store.replay(
                record["id"], customers[record["customer"]])):
            done.update(plan.ids)       # a replay takes the dead letters of its request along
            _note_replay(record, plan)
    log.info(f"console {action}", extra={"events": [r["id"] for r in matching][:100],
                                         "session": session_tag()})
    return render_template("done.html", action=action,
                           done=len(done & {r["id"] for r in matching}), total=len(matching),
                           back=url_for("console.dead"))


def _note_replay(record: dict[str, str], plan: Replay) -> None:
    store = app_context().store
    if store.index:
        store.note_attempt(plan.ids, {
            "at": now_ms(store.clock), "kind": "replay",
            "note": f"from the console, was {record.get('dead_reason', '')}; "
                    f"{plan.key or 'a new key'}: {plan.reason}"})



@bp.app_template_filter("iso")
def _iso(ms: int) -> str:
    """Milliseconds since the epoch as a UTC time to the second."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(ms) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@bp.app_template_filter("mask")
def _mask(text: str | None) -> str:
    from gateway.logs import mask

    return mask(text or "")
