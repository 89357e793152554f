"""A stand-in for the part of Meta's Graph API leadgate calls: reading lead objects.

Any numeric id is a lead (its answers made up from the id) unless it was deleted or given
explicit answers; control endpoints under /_graph set tokens, leads and throttling.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

DEMO_PAGE_TOKEN = "EAAGdemo" + "0page" * 6
graph = Blueprint("graph_standin", __name__)


@dataclass
class GraphState:
    tokens: set[str] = field(default_factory=lambda: {DEMO_PAGE_TOKEN})
    answers: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
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


def lead_object(lead_id: str, answers: list[dict[str, Any]] | None) -> dict[str, Any]:
    tail = lead_id[-4:].rjust(4, "0")
    return {"id": lead_id, "created_time": "2026-05-01T12:00:00+0000",
            "ad_id": "120210000000000001", "form_id": "987654321098765", "platform": "fb",
            "is_organic": False, "campaign_name": "Spring leads",
            "field_data": answers if answers is not None else [
                {"name": "full_name", "values": [f"Meta Lead {tail}"]},
                {"name": "email", "values": [f"meta+{lead_id}@example.com"]},
                {"name": "phone_number", "values": [f"+1415555{tail}"]},
                {"name": "when_are_you_looking_to_buy?", "values": ["0-3 months"]}]}


@graph.get("/graph/<version>/", defaults={"object_id": None})
@graph.get("/graph/<version>/<object_id>")
def read(version: str, object_id: str | None) -> Any:
    state = _state()
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ") if header.startswith("Bearer ") else \
        request.args.get("access_token", "")
    with state.lock:
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
        if token not in state.tokens:
            return _error(400, 190, "Error validating access token: Session has expired.",
                          subcode=463)
        ids = [object_id] if object_id else \
            [i for i in request.args.get("ids", "").split(",") if i]
        if not ids:
            return _error(400, 100, "Must specify ids or an object id", kind="GraphMethodException")
        missing = [i for i in ids if i in state.deleted or not i.isdigit()]
        if missing and object_id:
            return _error(400, 100, f"Unsupported get request. Object with ID '{object_id}' "
                                    "does not exist, cannot be loaded due to missing "
                                    "permissions, or does not support this operation.",
                          kind="GraphMethodException", subcode=33)
        if missing:
            return _error(404, 100, "Some of the aliases you requested do not exist: "
                                    + ",".join(missing))
        leads = {i: lead_object(i, state.answers.get(i)) for i in ids}
    return jsonify(leads[object_id] if object_id else leads)


@graph.route("/_graph", methods=["GET", "PATCH"])
def control() -> Response:
    """PATCH {"tokens": [...], "answers": {id: field_data}, "deleted": [...],
    "throttle_next": n, "fail_next": n, "denied": bool}; GET shows the counters."""
    state = _state()
    with state.lock:
        if request.method == "PATCH":
            change = request.get_json(force=True)
            if "tokens" in change:
                state.tokens = set(change["tokens"])
            state.answers.update(change.get("answers", {}))
            state.deleted.update(change.get("deleted", []))
            state.throttle_next = int(change.get("throttle_next", state.throttle_next))
            state.fail_next = int(change.get("fail_next", state.fail_next))
            state.denied = bool(change.get("denied", state.denied))
        return jsonify({"requests": state.requests, "throttle_next": state.throttle_next,
                        "fail_next": state.fail_next, "deleted": sorted(state.deleted)})
