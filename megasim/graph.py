"""A stand-in for the part of Meta's Graph API leadgate calls: lead reads, a page's forms,
`debug_token` and `subscribed_apps` (form lead listings and new leads: megasim/leadgen.py).

Any numeric id is a lead (its answers made up from the id) unless it was deleted, created in a
form or given explicit answers; control endpoints under /_graph set tokens, leads, pages and
throttling.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

DEMO_PAGE_TOKEN = "EAAGdemo" + "0page" * 6
DEMO_PAGE_ID = "112233445566778"
DEMO_FORM_ID = "987654321098765"
DEMO_APP_ID = "1000000000000042"
SCOPES = ["leads_retrieval", "pages_manage_metadata", "pages_show_list", "pages_read_engagement",
          "ads_management"]
graph = Blueprint("graph_standin", __name__)


def demo_pages() -> dict[str, dict[str, Any]]:
    """The demo page: one form, this app subscribed to its leadgen webhooks."""
    return {DEMO_PAGE_ID: {"forms": [DEMO_FORM_ID], "apps": [
        {"id": DEMO_APP_ID, "name": "leadgate", "subscribed_fields": ["leadgen"]}]}}


@dataclass
class Webhooks:
    """Where created leads' webhooks go, signed with the app secret, and the share swallowed."""

    url: str = ""
    app_secret: str = ""
    swallow: float = 0.0
    rng: random.Random = field(default_factory=lambda: random.Random(0))


@dataclass
class GraphState:
    tokens: set[str] = field(default_factory=lambda: {DEMO_PAGE_TOKEN})
    token_info: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    pages: dict[str, dict[str, Any]] = field(default_factory=demo_pages)
    form_leads: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    created: dict[str, dict[str, Any]] = field(default_factory=dict)     # lead id -> lead
    webhooks: Webhooks = field(default_factory=Webhooks)
    short_pages: set[int] = field(default_factory=set)     # listing pages served short
    short_page_size: int = 1
    repeat_cursor: bool = False        # a listing's `next` keeps the `after` it was asked with
    next_lead: int = 2_000_000_000_000_001
    throttle_next: int = 0
    fail_next: int = 0
    denied: bool = False               # the app lost leads_retrieval: every call gets code 200
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _state() -> GraphState:
    return current_app.extensions["megasim.graph"]  # type: ignore[no-any-return]


def _error(status: int, code: int, message: str, kind: str = "OAuthException",
           subcode: int | None = None) -> tuple[Response, int]:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code,
                             "fbtrace_id": "AbCdEfGhIjK"}
    if subcode is not None:
        error["error_subcode"] = subcode
    return jsonify({"error": error}), status


def public(lead: dict[str, Any]) -> dict[str, Any]:
    """A stored lead as Graph shows it (without the stand-in's own bookkeeping)."""
    return {k: v for k, v in lead.items() if not k.startswith("_")}


def lead_object(lead_id: str, answers: list[dict[str, Any]] | None) -> dict[str, Any]:
    """A Graph API lead object with its field data."""
    tail = lead_id[-4:].rjust(4, "0")
    return {"id": lead_id, "created_time": "2026-05-01T12:00:00+0000",
            "ad_id": "120210000000000001", "form_id": "987654321098765", "platform": "fb",
            "is_organic": False, "campaign_name": "Spring leads",
            "field_data": answers if answers is not None else [
                {"name": "full_name", "values": [f"Meta Lead {tail}"]},
                {"name": "email", "values": [f"meta+{lead_id}@example.com"]},
                {"name": "phone_number", "values": [f"+1415555{tail}"]},
                {"name": "when_are_you_looking_to_buy?", "values": ["0-3 months"]}]}


def request_token() -> str:
    """The access token, from the Authorization header or the access_token parameter."""
    header = request.headers.get("Authorization", "")
    return header.removeprefix("Bearer ") if header.startswith("Bearer ") else \
        request.args.get("access_token", "")


def gate(state: GraphState, *, scope: str = "") -> tuple[Response, int] | None:
    """Injected failures, throttling and the token check every Graph call meets (under lock)."""
    state.requests += 1
    if state.fail_next:
        state.fail_next -= 1
        return _error(500, 2, "An unexpected error has occurred. Please retry your request "
                              "later.", kind="OAuthException")
    if state.throttle_next:
        state.throttle_next -= 1
        return _error(400, 80005, "There have been too many leadgen api calls to this "
                                  "Page. Wait a bit and try again.")
    if state.denied:
        return _error(400, 200, "(#200) Requires leads_retrieval permission to manage "
                                "the object")
    token = request_token()
    if token not in state.tokens:
        return _error(400, 190, "Error validating access token: Session has expired.",
                      subcode=463)
    if scope and scope not in token_info(state, token)["scopes"]:
        return _error(403, 200, f"(#200) Requires {scope} permission to manage the object")
    return None


def token_info(state: GraphState, token: str) -> dict[str, Any]:
    """What debug_token says of a token: valid and never expiring unless set otherwise."""
    info = {"app_id": DEMO_APP_ID, "type": "PAGE", "application": "leadgate",
            "data_access_expires_at": int(time.time()) + 90 * 86400, "expires_at": 0,
            "is_valid": token in state.tokens, "scopes": list(SCOPES),
            "profile_id": DEMO_PAGE_ID, **state.token_info.get(token, {})}
    if not info["is_valid"]:
        info["error"] = {"code": 190, "message": "Error validating access token: Session has "
                                                 "expired.", "subcode": 463}
    return info


@graph.get("/graph/<version>/debug_token")
def debug_token(version: str) -> Any:
    """The Graph API's debug_token: whether the token is valid, and its scopes."""
    state = _state()
    with state.lock:
        state.requests += 1
        if not request_token():
            return _error(400, 104, "An access token is required to request this resource.")
        return jsonify({"data": token_info(state, request.args.get("input_token", ""))})


@graph.get("/graph/<version>/<page_id>/<edge>")
def page_edge(version: str, page_id: str, edge: str) -> Any:
    """A page's `subscribed_apps` or `leadgen_forms`."""
    state = _state()
    with state.lock:
        if failed := gate(state):
            return failed
        page = state.pages.get(page_id)
        if page is None or edge not in ("subscribed_apps", "leadgen_forms"):
            return _missing(page_id)
        if edge == "subscribed_apps":
            return jsonify({"data": page.get("apps", [])})
        return jsonify({"data": [{"id": f, "name": f"Form {f}", "status": "ACTIVE",
                                  "leads_count": len(state.form_leads.get(f, []))}
                                 for f in page.get("forms", [])]})


def _missing(object_id: str) -> tuple[Response, int]:
    return _error(400, 100, f"Unsupported get request. Object with ID '{object_id}' does not "
                            "exist, cannot be loaded due to missing permissions, or does not "
                            "support this operation.", kind="GraphMethodException", subcode=33)


@graph.get("/graph/<version>/", defaults={"object_id": None})
@graph.get("/graph/<version>/<object_id>")
def read(version: str, object_id: str | None) -> Any:
    """Graph API leads read by object id or by `ids`; a missing or deleted one is an error."""
    state = _state()
    with state.lock:
        if failed := gate(state):
            return failed
        ids = [object_id] if object_id else \
            [i for i in request.args.get("ids", "").split(",") if i]
        if not ids:
            return _error(400, 100, "Must specify ids or an object id", kind="GraphMethodException")
        missing = [i for i in ids if i in state.deleted or not i.isdigit()]
        if missing and object_id:
            return _missing(object_id)
        if missing:
            return _error(404, 100, "Some of the aliases you requested do not exist: "
                                    + ",".join(missing))
        leads = {i: public(state.created[i]) if i in state.created else
                 lead_object(i, state.answers.get(i)) for i in ids}
    return jsonify(leads[object_id] if object_id else leads)


@graph.route("/_graph", methods=["GET", "PATCH"])
def control() -> Response:
    """PATCH {"tokens": [...], "token_info": {token: debug_token fields}, "answers": {id:
    field_data}, "deleted": [...], "pages": {page id: {"forms": [...], "apps": [...]}},
    "webhook": {"url", "app_secret", "swallow", "seed"}, "short_pages": [n], "short_page_size":
    n, "repeat_cursor": bool, "throttle_next": n, "fail_next": n, "denied": bool}; GET shows the
    counters."""
    state = _state()
    with state.lock:
        if request.method == "PATCH":
            change(state, request.get_json(force=True))
        return jsonify({"requests": state.requests, "throttle_next": state.throttle_next,
                        "fail_next": state.fail_next, "deleted": sorted(state.deleted),
                        "leads": sum(len(v) for v in state.form_leads.values())})


def change(state: GraphState, new: dict[str, Any]) -> None:
    """Apply one PATCH /_graph."""
    if "tokens" in new:
        state.tokens = set(new["tokens"])
    for token, info in new.get("token_info", {}).items():
        state.token_info[token] = {**state.token_info.get(token, {}), **info}
    state.answers.update(new.get("answers", {}))
    state.deleted.update(new.get("deleted", []))
    state.pages.update(new.get("pages", {}))
    hook = new.get("webhook", {})
    for name in ("url", "app_secret"):
        setattr(state.webhooks, name, str(hook.get(name, getattr(state.webhooks, name))))
    state.webhooks.swallow = float(hook.get("swallow", state.webhooks.swallow))
    if "seed" in hook:
        state.webhooks.rng = random.Random(hook["seed"])
    state.short_pages = set(new.get("short_pages", state.short_pages))
    state.short_page_size = int(new.get("short_page_size", state.short_page_size))
    state.repeat_cursor = bool(new.get("repeat_cursor", state.repeat_cursor))
    state.throttle_next = int(new.get("throttle_next", state.throttle_next))
    state.fail_next = int(new.get("fail_next", state.fail_next))
    state.denied = bool(new.get("denied", state.denied))   # the app lost leads_retrieval
