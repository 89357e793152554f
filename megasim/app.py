"""megasim: a Flask app that behaves like MEGA's push-leads API, with fault injection."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from marshmallow import ValidationError

from gateway.mega.contract import BULK_PATH, ROW_STATUSES, SINGLE_PATH, WRITE_SCOPE, error_body
from megasim.config import ApiKey, SimConfig, Tenant, demo_config
from megasim.faults import Faults, FaultSettings
from megasim.google import GoogleState, google
from megasim.google_leads import create_submissions  # noqa: F401  (its routes join google's)
from megasim.graph import GraphState, graph
from megasim.hubspot import HubSpotState, hubspot
from megasim.leadgen import form_leads  # noqa: F401  (its routes join the graph blueprint)
from megasim.schemas import BulkImportSchema, SingleLeadSchema, flatten_messages
from megasim.state import Scope, SimState, fingerprint, stage_object

api = Blueprint("megasim_api", __name__)
inspect = Blueprint("megasim_inspect", __name__, url_prefix="/_megasim")
UUID_LEN = 36
TRICKLE_STEP_S = 0.05          # a trickled answer sends a byte this often
HTML_ANSWER = "<html><body><h1>OK</h1></body></html>"


class MegaError(Exception):
    """An answer in MEGA's error shape."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def create_app(config: SimConfig | None = None, *, faults: FaultSettings | None = None,
               seed: int | None = None) -> Flask:
    """megasim's app factory: the demo tenant unless a config is given."""
    app = Flask("megasim")
    app.extensions["megasim"] = SimState(config or demo_config())
    app.extensions["megasim.faults"] = Faults(faults, seed=seed)
    app.register_blueprint(api)
    app.register_blueprint(inspect)
    app.extensions["megasim.graph"] = GraphState()
    app.register_blueprint(graph)
    app.extensions["megasim.google"] = GoogleState()
    app.register_blueprint(google)
    app.extensions["megasim.hubspot"] = HubSpotState()
    app.register_blueprint(hubspot)
    app.register_error_handler(MegaError, _render_error)
    return app


def _state() -> SimState:
    return current_app.extensions["megasim"]  # type: ignore[no-any-return]


def _faults() -> Faults:
    return current_app.extensions["megasim.faults"]  # type: ignore[no-any-return]


def _render_error(exc: MegaError) -> Response:
    response = jsonify(error_body(exc.status, exc.message))
    response.status_code = exc.status
    response.headers.update(exc.headers)
    return response


@api.post(SINGLE_PATH)
def create_single() -> Response:
    """MEGA's single create."""
    return _handle("single")


@api.post(BULK_PATH)
def bulk_import() -> Response:
    """MEGA's bulk import."""
    return _handle("bulk")


def _handle(endpoint: str) -> Response:
    """Auth, rate limit, faults, idempotency, then the endpoint's own work."""
    raw = request.get_data()
    fault, latency, slow = _faults().draw(raw)
    key = request.headers.get("Idempotency-Key", "")
    log = {"idempotency_key": key, "body_sha256": fingerprint(raw.decode("utf-8", "replace")),
           "fault": fault}
    time.sleep(latency)
    if fault == "drop":
        return _drop(endpoint, log)
    try:
        status, body, headers, running = _answer(endpoint, raw, key, fault)
    except MegaError as exc:
        _state().record(endpoint, str(exc.status), log)
        raise
    try:
        return _after_commit(endpoint, fault, status, body, headers, slow, running, log)
    finally:
        if running is not None and fault != "trickle":
            _state().end(running)


def _after_commit(endpoint: str, fault: str, status: int, body: dict[str, Any],
                  headers: dict[str, str], slow: float, running: Scope | None,
                  log: dict[str, Any]) -> Response:
    """The answer, as the fault has it: dropped, late, trickled, a 503 or HTML."""
    if fault == "drop_after_commit":
        return _drop(endpoint, log)
    if fault == "slow":
        time.sleep(slow)
    if fault == "commit_then_fail":
        _state().record(endpoint, "503", log)
        raise MegaError(503, "upstream failure after commit", headers)
    _state().record(endpoint, str(status), log)
    if fault == "html_after_commit":
        return Response(HTML_ANSWER, status=status, headers=headers, mimetype="text/html")
    if fault == "trickle":
        data = json.dumps(body).encode()
        return Response(_trickle(data, slow, _state(), running), status=status,
                        headers=headers, mimetype="application/json")
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers)
    return response


def _trickle(data: bytes, seconds: float, state: SimState,
             running: Scope | None) -> Iterator[bytes]:
    """The answer a space at a time for `seconds`, then the JSON; the key's request stays
    in progress until the last byte is out or the client has gone."""
    try:
        for _ in range(int(seconds / TRICKLE_STEP_S)):
            yield b" "
            time.sleep(TRICKLE_STEP_S)
        yield data
    finally:
        if running is not None:
            state.end(running)


def _answer(endpoint: str, raw: bytes, key: str, fault: str
            ) -> tuple[int, dict[str, Any], dict[str, str], Scope | None]:
    """Status, body and headers; and the key's scope while this request is in progress."""
    if fault in ("401", "403"):
        raise MegaError(int(fault), "injected fault")
    tenant = _authenticate()
    rate = _state().take_rate(tenant, endpoint)
    headers = rate.headers()
    if fault == "429" or not rate.allowed:
        if fault == "429":
            headers.update({"RateLimit-Remaining": "0", "Retry-After": headers["RateLimit-Reset"]})
        raise MegaError(429, f"rate limit exceeded for {endpoint}; retry in "
                             f"{headers['Retry-After']}s", headers)
    if fault in ("error", "500", "503", "400", "409"):
        status = 500 if fault == "error" else int(fault)
        raise MegaError(status, "injected fault", headers)
    data = _json_body(raw, headers)
    dry_run = endpoint == "bulk" and isinstance(data, dict) and data.get("dry_run") is True
    scope = (tenant.customer_id, endpoint, key)
    running = scope if key and not dry_run else None
    with _state().lock:
        if running and not _state().begin(scope):
            raise MegaError(409, "a request with this Idempotency-Key is still in progress",
                            headers)
        hit = _state().cached(scope) if running else None
        if hit is not None:
            _state().end(scope)
            if hit[0] != fingerprint(data):
                raise MegaError(409, "Idempotency-Key reused with a different body", headers)
            return hit[1], hit[2], headers, None
    try:
        with _state().lock:
            status, body = (_single if endpoint == "single" else _bulk)(tenant, data, headers)
            if running:
                _state().remember(scope, fingerprint(data), status, body)
    except Exception:
        if running:
            _state().end(running)
        raise
    return status, body, headers, running


def _authenticate() -> Tenant:
    header = request.headers.get("Authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ""
    key: ApiKey | None = _state().keys.get(token)
    customer_id = request.headers.get("x-customer-id", "").strip().lower()
    if key is None:
        raise MegaError(401, "missing or invalid bearer token")
    if len(customer_id) != UUID_LEN:
        raise MegaError(401, "missing or invalid x-customer-id")
    if customer_id != key.customer_id:
        raise MegaError(403, "this key is locked to a different customer")
    if WRITE_SCOPE not in key.scopes:
        raise MegaError(403, f"this key lacks the {WRITE_SCOPE} scope")
    return _state().config.tenants[key.customer_id]


def _json_body(raw: bytes, headers: dict[str, str]) -> Any:
    if not request.mimetype == "application/json":
        raise MegaError(400, "Content-Type must be application/json", headers)
    try:
        return json.loads(raw)
    except ValueError:
        raise MegaError(400, "request body is not valid JSON", headers) from None


def _single(tenant: Tenant, data: Any, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    try:
        row = SingleLeadSchema().load(data if isinstance(data, dict) else {"_": data})
    except ValidationError as exc:
        raise MegaError(400, "; ".join(flatten_messages(exc.messages)), headers) from None
    errors = row_errors(tenant, row)
    if errors:
        raise MegaError(400, "; ".join(errors), headers)
    _, lead, _ = _state().upsert(tenant, row)
    return 201, {"lead": lead}


def _bulk(tenant: Tenant, data: Any, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    try:
        req = BulkImportSchema().load(data if isinstance(data, dict) else {"_": data})
    except ValidationError as exc:
        raise MegaError(400, "; ".join(flatten_messages(exc.messages)), headers) from None
    results, unknown = [], set()
    for row in req["leads"]:
        result = _bulk_row(tenant, row, req["on_duplicate"], req["dry_run"])
        unknown.update(result.get("ignored_custom_fields", []))
        results.append(result)
    summary = {"total": len(results)} | dict.fromkeys(ROW_STATUSES, 0)
    for result in results:
        summary[result["status"]] += 1
    return 200, {"dry_run": req["dry_run"], "summary": summary, "results": results,
                 "unknown_custom_fields": sorted(unknown)}


def _bulk_row(tenant: Tenant, row: dict[str, Any], on_duplicate: str,
              dry_run: bool) -> dict[str, Any]:
    result: dict[str, Any] = {"row_ref": row.get("row_ref"), "status": "failed",
                              "lead_id": None, "matched_by": None, "errors": None}
    ignored = sorted(set(row.get("custom_fields") or {}) - set(tenant.custom_fields))
    if ignored:
        result["ignored_custom_fields"] = ignored
    errors = row_errors(tenant, row)
    if errors:
        return result | {"errors": errors}
    status, lead, matched_by = _state().upsert(tenant, row, on_duplicate=on_duplicate,
                                               dry_run=dry_run)
    return result | {"status": status, "lead_id": lead["id"] if lead else None,
                     "matched_by": matched_by}


def row_errors(tenant: Tenant, row: dict[str, Any]) -> list[str]:
    """The per-customer rules a row must meet beyond its schema."""
    errors = []
    if not any(row.get(f) for f in ("contact_name", "contact_phone", "contact_email")):
        errors.append("at least one of contact_name, contact_phone, contact_email is required")
    if row.get("stage_slug") and row["stage_slug"] not in {s["slug"] for s in tenant.stages}:
        errors.append(f"stage_slug '{row['stage_slug']}' is not in this customer's pipeline")
    if row.get("owner_id") and str(row["owner_id"]) not in {m["id"] for m in tenant.team}:
        errors.append("owner_id is not a member of this customer's team")
    return errors


def _drop(endpoint: str, log: dict[str, Any]) -> Response:
    """Close the connection without an answer, as a network failure would."""
    _state().record(endpoint, "dropped", log)
    sock = request.environ.get("werkzeug.socket") or request.environ.get("gunicorn.socket")
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    return Response(status=500)


# -- inspection and control --------------------------------------------------------------
@inspect.get("/leads")
def list_leads() -> Response:
    """The leads stored, of one customer or all."""
    leads = _state().all_leads(request.args.get("customer_id"))
    return jsonify({"count": len(leads), "leads": leads})


@inspect.get("/stats")
def stats() -> Response:
    """Counts of answers by endpoint and status, and of leads by customer."""
    by_endpoint: dict[str, dict[str, int]] = {}
    with _state().lock:
        for (endpoint, status), n in _state().counts.items():
            by_endpoint.setdefault(endpoint, {})[status] = n
        leads = {cid: len(held) for cid, held in _state().leads.items()}
    return jsonify({"requests": by_endpoint, "leads": leads})


@inspect.get("/requests")
def request_log() -> Response:
    """Every request megasim answered, in order."""
    with _state().lock:
        return jsonify({"requests": list(_state().request_log)})


@inspect.post("/reset")
def reset() -> Response:
    """Forget leads, keys used, counts and the Graph and Google state."""
    _state().reset()
    current_app.extensions["megasim.graph"] = GraphState()
    current_app.extensions["megasim.google"] = GoogleState()
    current_app.extensions["megasim.hubspot"] = HubSpotState()
    _faults().update({f: v for f, v in FaultSettings().__dict__.items()})
    return jsonify({"reset": True})


@inspect.route("/faults", methods=["GET", "PUT", "PATCH", "POST"])
def faults() -> Response:
    """The faults in force; PUT, PATCH or POST changes them."""
    if request.method == "GET":
        return jsonify(_faults().snapshot())
    changes = request.get_json(silent=True)
    if not isinstance(changes, dict):
        raise MegaError(400, "send a JSON object of fault settings")
    try:
        return jsonify(_faults().update(changes))
    except ValueError as exc:
        raise MegaError(400, str(exc)) from None


@inspect.route("/keys", methods=["POST"])
def add_key() -> Response:
    """Add an API key for a known customer."""
    data = request.get_json(silent=True) or {}
    if data.get("customer_id") not in _state().config.tenants or not data.get("token"):
        raise MegaError(400, "token and a known customer_id are required")
    key = ApiKey(data["token"], data["customer_id"], tuple(data.get("scopes", [WRITE_SCOPE])))
    _state().keys[key.token] = key
    return jsonify({"token": key.token, "customer_id": key.customer_id})


@inspect.delete("/keys/<token>")
def revoke_key(token: str) -> Response:
    """Revoke an API key."""
    return jsonify({"revoked": _state().keys.pop(token, None) is not None})


@inspect.get("/tenants")
def tenants() -> Response:
    """The configured customers, their team and stages."""
    config = _state().config
    return jsonify({"tenants": [
        {"customer_id": t.customer_id, "name": t.name, "team": list(t.team),
         "stages": [stage_object(t, s["slug"]) for s in t.stages],
         "custom_fields": list(t.custom_fields), "limits": t.limits.__dict__}
        for t in config.tenants.values()]})
