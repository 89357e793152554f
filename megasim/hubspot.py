"""A stand-in for the part of HubSpot's CRM API leadgate calls: one contact by id
(`GET /hubspot/crm/v3/objects/contacts/{id}`), with HubSpot's error shapes.

Any numeric id is a contact (its properties made up from the id) unless it was deleted or given
explicit properties; PATCH /_hubspot sets tokens, contacts, deletions, throttling and failures.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

DEMO_TOKEN = "pat-na1-00000000-dev0-4000-8000-hubspotdemo0"
hubspot = Blueprint("hubspot_standin", __name__)


@dataclass
class HubSpotState:
    tokens: set[str] = field(default_factory=lambda: {DEMO_TOKEN})
    contacts: dict[str, dict[str, Any]] = field(default_factory=dict)    # id -> properties
    deleted: set[str] = field(default_factory=set)
    throttle_next: int = 0
    fail_next: int = 0
    denied: bool = False                # the private app lost crm.objects.contacts.read
    pad_bytes: int = 0                  # answers carry this much more (the read's bound)
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _state() -> HubSpotState:
    return current_app.extensions["megasim.hubspot"]  # type: ignore[no-any-return]


def _error(status: int, category: str, message: str) -> tuple[Response, int]:
    return jsonify({"status": "error", "message": message, "category": category,
                    "correlationId": "8a6e3f0e-54d1-4c1a-9a39-3f3f2b9a0c11"}), status


def made_up(contact_id: str) -> dict[str, Any]:
    """The properties of a contact nobody set: distinct per id."""
    tail = contact_id[-4:].rjust(4, "0")
    return {"email": f"hubspot+{contact_id}@example.com", "firstname": "HubSpot",
            "lastname": f"Contact {tail}", "phone": f"+1415555{tail}",
            "lifecyclestage": "lead", "hs_analytics_source": "ORGANIC_SEARCH"}


def gate(state: HubSpotState) -> tuple[Response, int] | None:
    """Injected failures, throttling and the token check every call meets (under lock)."""
    state.requests += 1
    if state.fail_next:
        state.fail_next -= 1
        return _error(502, "INTERNAL_ERROR", "Internal error")
    if state.throttle_next:
        state.throttle_next -= 1
        return _error(429, "RATE_LIMITS", "You have reached your secondly limit.")
    header = request.headers.get("Authorization", "")
    if header.removeprefix("Bearer ") not in state.tokens or not header.startswith("Bearer "):
        return _error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found. "
                      "This API supports OAuth 2.0 authentication.")
    if state.denied:
        return _error(403, "MISSING_SCOPES", "This app hasn't been granted all required "
                      "scopes to make this call.")
    return None


@hubspot.get("/hubspot/crm/v3/objects/contacts/<contact_id>")
def contact(contact_id: str) -> Any:
    """One contact with the properties asked for, as the CRM API answers it."""
    state = _state()
    with state.lock:
        if failed := gate(state):
            return failed
        if contact_id in state.deleted or not contact_id.isdigit():
            return _error(404, "OBJECT_NOT_FOUND", "resource not found")
        props = state.contacts.get(contact_id) or made_up(contact_id)
        pad = "x" * state.pad_bytes
    asked = [p for p in request.args.get("properties", "").split(",") if p]
    shown = {name: props.get(name) for name in asked} if asked else dict(props)
    shown.update({"hs_object_id": contact_id, "createdate": "2026-05-01T12:00:00.000Z",
                  "lastmodifieddate": "2026-05-01T12:00:01.000Z"})
    body: dict[str, Any] = {"id": contact_id, "properties": shown, "archived": False,
                            "createdAt": "2026-05-01T12:00:00.000Z",
                            "updatedAt": "2026-05-01T12:00:01.000Z"}
    if pad:
        body["padding"] = pad
    return jsonify(body)


@hubspot.route("/_hubspot", methods=["GET", "PATCH"])
def control() -> Response:
    """PATCH {"tokens": [...], "contacts": {id: properties}, "deleted": [...], "throttle_next":
    n, "fail_next": n, "denied": bool, "pad_bytes": n}; GET shows the counters."""
    state = _state()
    with state.lock:
        if request.method == "PATCH":
            new = request.get_json(force=True)
            if "tokens" in new:
                state.tokens = set(new["tokens"])
            state.contacts.update(new.get("contacts", {}))
            state.deleted.update(new.get("deleted", []))
            for name in ("throttle_next", "fail_next", "pad_bytes"):
                setattr(state, name, int(new.get(name, getattr(state, name))))
            state.denied = bool(new.get("denied", state.denied))
        return jsonify({"requests": state.requests, "deleted": sorted(state.deleted)})
