"""The stand-in's form leads: `GET /{form-id}/leads` with Meta's `time_created` filtering and
cursor paging, and `POST /_graph/leads`, which creates leads the way a person submitting a
form does, posting the signed `leadgen` webhook Meta would (or swallowing a share of them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from flask import jsonify, request

from megasim.graph import (
    DEMO_FORM_ID,
    DEMO_PAGE_ID,
    GraphState,
    _error,
    _state,
    gate,
    graph,
    public,
)

DEFAULT_LIMIT = 25
MAX_LIMIT = 500
WEBHOOK_TIMEOUT_S = 10.0
MAX_CREATE = 10_000
OPERATORS = {"GREATER_THAN": lambda t, v: t > v, "LESS_THAN": lambda t, v: t < v,
             "GREATER_THAN_OR_EQUAL": lambda t, v: t >= v,
             "LESS_THAN_OR_EQUAL": lambda t, v: t <= v}


def iso(unix: int) -> str:
    """A Unix time as the Graph API writes it."""
    return time.strftime("%Y-%m-%dT%H:%M:%S+0000", time.gmtime(unix))


def cursor(page: int, lead: dict[str, Any] | None, after: str) -> str:
    """An opaque cursor: the page number and the position after the last lead served."""
    position = f"{lead['_time']}:{lead['id']}" if lead else after
    return base64.urlsafe_b64encode(f"{page}|{position}".encode()).decode()


def read_cursor(raw: str) -> tuple[int, tuple[int, str] | None]:
    """A paging cursor back into (page, position)."""
    if not raw:
        return 1, None
    page, _, position = base64.urlsafe_b64decode(raw.encode()).decode().partition("|")
    created, _, lead_id = position.partition(":")
    return int(page), (int(created), lead_id) if lead_id else None


def matches(lead: dict[str, Any], rules: list[dict[str, Any]]) -> bool:
    """Whether a lead passes every time filter."""
    return all(OPERATORS[r["operator"]](lead["_time"], int(r["value"])) for r in rules)


def parse_filtering(raw: str) -> list[dict[str, Any]]:
    """Meta's `filtering` JSON; only time_created rules are served here."""
    rules = json.loads(raw) if raw else []
    if not isinstance(rules, list) or not all(
            isinstance(r, dict) and r.get("field") == "time_created"
            and r.get("operator") in OPERATORS for r in rules):
        raise ValueError("filtering supports time_created with GREATER_THAN or LESS_THAN")
    return rules


@graph.get("/graph/<version>/<form_id>/leads")
def form_leads(version: str, form_id: str) -> Any:
    """Newest first; a page listed in short_pages holds fewer leads, and paging goes on."""
    state = _state()
    with state.lock:
        if failed := gate(state, scope="leads_retrieval"):
            return failed
        if not any(form_id in p.get("forms", []) for p in state.pages.values()):
            return _error(400, 100, f"Unsupported get request. Object with ID '{form_id}' does "
                                    "not exist", kind="GraphMethodException", subcode=33)
        try:
            rules = parse_filtering(request.args.get("filtering", ""))
            limit = min(MAX_LIMIT, max(1, int(request.args.get("limit", DEFAULT_LIMIT))))
            page, after = read_cursor(request.args.get("after", ""))
        except (ValueError, TypeError, KeyError) as exc:
            return _error(400, 100, f"Invalid parameter: {exc}")
        ordered = sorted((lead for lead in state.form_leads.get(form_id, [])
                          if matches(lead, rules)),
                         key=lambda lead: (lead["_time"], lead["id"]), reverse=True)
        rest = [lead for lead in ordered
                if after is None or (lead["_time"], lead["id"]) < after]
        size = min(limit, state.short_page_size) if page in state.short_pages else limit
        served = rest[:size]
        return jsonify(listing(state, served, page, after, more=len(rest) > size))


def listing(state: GraphState, served: list[dict[str, Any]], page: int,
            after: tuple[int, str] | None, *, more: bool) -> dict[str, Any]:
    """One page in Graph's shape, with `paging.next` while leads remain."""
    last = served[-1] if served else None
    position = f"{after[0]}:{after[1]}" if after else ""
    paging: dict[str, Any] = {"cursors": {
        "before": cursor(page, served[0], position) if served else "",
        "after": cursor(page + 1, last, position)}}
    if state.repeat_cursor and request.args.get("after"):
        paging["cursors"]["after"] = request.args["after"]     # a fault: paging never moves
    if more:
        args = {k: v for k, v in request.args.items() if k != "after"}
        args["after"] = paging["cursors"]["after"]
        paging["next"] = str(httpx.URL(request.base_url, params=args))
    return {"data": [public(lead) for lead in served], "paging": paging}


@graph.post("/_graph/leads")
def create_leads() -> Any:
    """{"form_id", "page_id", "count", "created_time" (unix, default now)}: new leads, each
    announced by a signed leadgen webhook unless swallowed. Answers which were swallowed."""
    state = _state()
    spec = request.get_json(silent=True)
    try:
        form_id, page_id = str(spec.get("form_id", DEMO_FORM_ID)), str(spec.get("page_id",
                                                                                 DEMO_PAGE_ID))
        created_time, count = int(spec.get("created_time") or time.time()), int(
            spec.get("count", 1))
        if not 1 <= count <= MAX_CREATE:
            raise ValueError(f"count must be 1..{MAX_CREATE}")
    except (AttributeError, TypeError, ValueError) as exc:
        return _error(400, 100, f"send a JSON object: form_id, page_id, count, created_time "
                                f"({exc})")
    with state.lock:
        made = [new_lead(state, form_id, page_id, created_time) for _ in range(count)]
        fate = {lead["id"]: state.webhooks.rng.random() < state.webhooks.swallow
                for lead in made}
        url, secret = state.webhooks.url, state.webhooks.app_secret
    failed = [lead["id"] for lead in made
              if url and not fate[lead["id"]] and not post_webhook(url, secret, lead)]
    return jsonify({"leads": [lead["id"] for lead in made],
                    "swallowed": [i for i, gone in fate.items() if gone],
                    "webhook_url": url, "webhook_failed": failed})


def new_lead(state: GraphState, form_id: str, page_id: str, created: int) -> dict[str, Any]:
    """A lead as Meta stores it (made-up answers, distinct per id), kept with its form."""
    lead_id = str(state.next_lead)
    state.next_lead += 1
    tail = lead_id[-4:]
    lead = {"id": lead_id, "created_time": iso(created), "ad_id": "120210000000000001",
            "form_id": form_id, "platform": "fb", "is_organic": False,
            "campaign_name": "Spring leads", "field_data": [
                {"name": "full_name", "values": [f"Meta Lead {tail}"]},
                {"name": "email", "values": [f"meta+{lead_id}@example.com"]},
                {"name": "phone_number", "values": [f"+1415555{tail}"]}],
            "_time": created, "_page": page_id}
    state.form_leads.setdefault(form_id, []).append(lead)
    state.created[lead_id] = lead
    return lead


def number(value: str) -> int | str:
    """Ids as JSON numbers, as Meta sends them."""
    return int(value) if value.isdigit() else value


def post_webhook(url: str, secret: str, lead: dict[str, Any]) -> bool:
    """The leadgen webhook Meta posts for a new lead, signed with the app secret."""
    body = json.dumps({"object": "page", "entry": [{
        "id": lead["_page"], "time": int(time.time()), "changes": [{"field": "leadgen", "value": {
            "ad_id": number(lead["ad_id"]), "form_id": number(lead["form_id"]),
            "leadgen_id": number(lead["id"]), "created_time": lead["_time"],
            "page_id": number(lead["_page"]), "adgroup_id": number(lead["ad_id"])}}]}]}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    try:
        answer = httpx.post(url, content=body, timeout=WEBHOOK_TIMEOUT_S, headers={
            "Content-Type": "application/json", "X-Hub-Signature-256": signature})
    except httpx.HTTPError:
        return False
    return answer.is_success
