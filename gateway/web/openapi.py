"""The OpenAPI description of the intake and admin endpoints, generated from marshmallow
schemas with apispec and served at `/openapi.json`."""

from __future__ import annotations

from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Response, jsonify
from marshmallow import Schema, fields, validate

from gateway.domain.event import DEAD_REASONS, STATUSES
from gateway.imports.record import STATUSES as IMPORT_STATUSES
from gateway.mega.contract import ERROR_TYPES

bp = Blueprint("openapi", __name__)
VERSION = "0.1.0"


class ErrorDetail(Schema):
    """An error answer's body: its type, HTTP code and message."""

    type = fields.String(required=True)
    code = fields.Integer(required=True)
    message = fields.String(required=True)


class Error(Schema):
    """Every error answer's body: {"error": {...}}."""

    error = fields.Nested(ErrorDetail, required=True)


class Accepted(Schema):
    """A webhook's answer: events stored, duplicates, their ids."""

    accepted = fields.Integer(required=True, metadata={"description": "new events stored"})
    duplicates = fields.Integer(required=True, metadata={"description": "events seen before"})
    events = fields.List(fields.String(), required=True,
                         metadata={"description": "event ids, for GET /v1/events/{id}"})
    ignored = fields.String(metadata={"description": "why a delivery carries no lead"})


class Event(Schema):
    """One event as the admin API shows it."""

    class Meta:
        unknown = "include"

    id = fields.String(required=True)
    customer = fields.String(required=True)
    route = fields.String(required=True)
    source = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    mega_calls = fields.Integer(metadata={
        "description": "MEGA calls made for the event, all of them (a 429 included), "
                       "replays included; absent once compacted"})
    failed_attempts = fields.Integer(metadata={
        "description": "failed attempts counted towards the retry limit (a 5xx, a timeout, no "
                       "answer, an answer of the wrong shape, a source's fetch failing); a "
                       "429, a credentials hold and a refusal (400, 409) are not; absent "
                       "once compacted"})
    replays = fields.Integer(metadata={"description": "times replayed from the dead letters"})
    lead = fields.Dict(metadata={"description": "the MEGA lead row (absent until enriched)"})
    warnings = fields.List(fields.String())
    lead_id = fields.String()
    outcome = fields.String()
    dead_reason = fields.String(metadata={"description": ", ".join(DEAD_REASONS) + "..."})
    error = fields.String()
    replay_key = fields.String(metadata={"description": "the key its last replay went out under"})
    replay_reason = fields.String(metadata={"description": "why that key"})


class HeldRoute(Schema):
    """A route whose leads are held: how many, until when, why."""

    leads = fields.Integer(required=True)
    retry_at_ms = fields.Integer(required=True)
    reason = fields.String(required=True)


class CustomerSummary(Schema):
    """Where a customer's leads are: pending, in flight, held, delivered, dead."""

    pending = fields.Integer(required=True)
    in_flight = fields.Integer(required=True)
    held = fields.Integer(required=True, metadata={
        "description": "leads set aside while a route's credentials fail (Meta's page token)"})
    held_routes = fields.Dict(keys=fields.String(), values=fields.Nested(HeldRoute),
                              required=True)
    delivered = fields.Integer(required=True)
    dead = fields.Integer(required=True)
    state = fields.String(required=True, validate=validate.OneOf(
        ["idle", "delivering", "paused", "blocked"]))
    reason = fields.String(allow_none=True)
    last_error = fields.String(allow_none=True)
    next_attempt_ms = fields.Integer(allow_none=True)


class Customer(CustomerSummary):
    """One customer's summary, with its name."""

    customer = fields.String(required=True)


class Customers(Schema):
    """Every customer's summary, by name."""

    customers = fields.Dict(keys=fields.String(), values=fields.Nested(CustomerSummary),
                            required=True)


class DeadLetters(Schema):
    """A page of dead letters and their total."""

    total = fields.Integer(required=True)
    dead_letters = fields.List(fields.Nested(Event), required=True)


class DeadLetterQuery(Schema):
    """The paging of GET /v1/dead-letters."""

    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=2**31))
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class ReplayOptions(Schema):
    """A replay's options: a new idempotency key or not."""

    new_key = fields.Boolean(load_default=False, metadata={
        "description": "send under a new idempotency key even if the body is unchanged "
                       "(MEGA may create a second lead if it committed the first request)"})


class SourceHealth(Schema):
    """A route's last source-health check."""

    class Meta:
        unknown = "include"

    state = fields.String(required=True, validate=validate.OneOf(
        ["healthy", "token_expiring", "token_invalid", "not_subscribed", "permission_missing",
         "unknown"]))
    detail = fields.String(required=True)
    days_left = fields.Integer(allow_none=True, metadata={"description": "token lifetime left"})
    checked_at_ms = fields.Integer()


class Reconciliation(Schema):
    """A route's reconciliation: on or off, how often, what its last run found."""

    class Meta:
        unknown = "include"

    enabled = fields.Boolean(required=True)
    every_min = fields.Integer(required=True)
    last_run_ms = fields.Integer(required=True)
    seen = fields.Integer(required=True, metadata={"description": "leads listed, all runs"})
    missed = fields.Integer(required=True, metadata={
        "description": "leads the webhook never brought, recovered by reconciliation"})
    last_error = fields.String(allow_none=True)


class RouteStatus(Schema):
    """One route's customer, source, health and reconciliation."""

    customer = fields.String(required=True)
    source = fields.String(required=True)
    health = fields.Nested(SourceHealth, allow_none=True, metadata={"description": "Meta only"})
    reconcile = fields.Nested(Reconciliation, metadata={"description": "Meta only"})


class Routes(Schema):
    """Every route's status, by name."""

    routes = fields.Dict(keys=fields.String(), values=fields.Nested(RouteStatus), required=True)


class ImportCounts(Schema):
    """An import's rows by result."""

    rows = fields.Integer(required=True)
    queued = fields.Integer(required=True, metadata={"description": "rows sent to MEGA"})
    created = fields.Integer(required=True)
    updated = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    failed = fields.Integer(required=True)
    duplicates_in_file = fields.Integer(required=True)
    already_imported = fields.Integer(required=True)
    warnings = fields.Integer(required=True)
    gone = fields.Integer(required=True, metadata={"description": "rows whose event expired "
                                                   "before its outcome was counted"})


class FailedRow(Schema):
    """A CSV row that was not imported, and why."""

    row = fields.Integer(required=True)
    reason = fields.String(required=True)


class ImportReport(Schema):
    """An import's report: its counts, failed rows and unknown custom fields."""

    class Meta:
        unknown = "include"

    import_ = fields.String(data_key="import", required=True, allow_none=True,
                            metadata={"description": "null for a dry run"})
    dry_run = fields.Boolean(required=True)
    status = fields.String(required=True, validate=validate.OneOf(
        IMPORT_STATUSES),
        metadata={"description": "an API upload runs in the background: reading or "
                                 "previewing until its rows are read; failed: see `error` "
                                 "(also when the reading process stopped: upload the same "
                                 "file again)"})
    customer = fields.String(required=True)
    pending = fields.Integer(required=True)
    counts = fields.Nested(ImportCounts, required=True)
    errors = fields.List(fields.Nested(FailedRow), required=True,
                         metadata={"description": "the first 100 failed rows"})
    unknown_custom_fields = fields.List(fields.String(), required=True)
    rows = fields.List(fields.Dict(), metadata={"description": "a dry run: MEGA's verdict "
                                                "per row (over the API: the first 100 rows)"})
    error = fields.String(metadata={"description": "why a failed upload stopped"})
    heartbeat = fields.String(metadata={"description": "an import: when its reader last said "
                                        "it was alive (ms); 60 s without, while reading, and "
                                        "the report becomes failed"})


IMPORT_DESCRIPTION = (
    "The CSV is the body (text/csv) or the multipart field `file`. The options go in the "
    "query string; a multipart upload may send them as form fields beside `file` instead. Which "
    "customers, routes, MEGA fields and custom-field slugs exist depends on the deployment's "
    "config: a name it does not know is a 400 that names it. Rows already imported (by "
    "`id_column`, else a hash of the row) are not sent again.")


class ImportOptions(Schema):
    """A CSV import's options: whose leads, which route, what on a duplicate."""

    customer = fields.String(required=True, metadata={
        "description": "a customer of the config: whose MEGA gets the leads"})
    route = fields.String(metadata={
        "description": "a route of that customer: apply its [lead] fields, [fields] map and "
                       "default region"})
    map = fields.List(fields.String(), metadata={
        "description": "COLUMN=FIELD: a column to a MEGA lead field or custom_fields.<slug> "
                       "(repeatable); columns a route's map or the usual names (name, email, "
                       "phone...) already cover need none"})
    id_column = fields.String(metadata={
        "description": "the column that identifies a row (default: a hash of the row)"})
    on_duplicate = fields.String(validate=validate.OneOf(["update", "skip"]), metadata={
        "description": "when MEGA already has the contact (default: the customer's setting)"})
    dry_run = fields.Boolean(load_default=False, metadata={
        "description": "preview with MEGA's dry run: store and create nothing"})


class Replayed(Schema):
    """A replay's answer: the events sent again, under which key, why."""

    replayed = fields.String(required=True)
    events = fields.List(fields.String(), required=True, metadata={
        "description": "the dead letters of its request, replayed together"})
    key = fields.String(allow_none=True, required=True, metadata={
        "description": "the idempotency key (null: the worker freezes a new one)"})
    key_reason = fields.String(required=True, metadata={
        "description": "why this key: the body is unchanged, changed, or a new key was asked"})
    warning = fields.String(allow_none=True, required=True)


class Purged(Schema):
    """A purge's answer: the dead letter deleted."""

    purged = fields.String(required=True)


def _errors(*codes: int) -> dict[str, Any]:
    return {str(code): {"description": ERROR_TYPES.get(code, "error"),
                        "content": {"application/json": {"schema": "Error"}}} for code in codes}


def _ok(code: int, schema: str, description: str) -> dict[str, Any]:
    return {str(code): {"description": description,
                        "content": {"application/json": {"schema": schema}}}}


def build_spec() -> dict[str, Any]:
    """The OpenAPI document of the intake and the admin API."""
    spec = APISpec(title="leadgate", version=VERSION, openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   info={"description": "Webhook intake for lead providers, and the admin API "
                                        "that shows where every lead is."})
    for name, schema in (("Error", Error), ("Accepted", Accepted), ("Event", Event),
                         ("Customer", Customer), ("Customers", Customers),
                         ("DeadLetters", DeadLetters), ("Replayed", Replayed),
                         ("Routes", Routes),
                         ("Purged", Purged), ("ImportReport", ImportReport)):
        spec.components.schema(name, schema=schema)
    spec.components.security_scheme("admin", {"type": "http", "scheme": "bearer"})
    route = {"name": "route", "in": "path", "required": True, "schema": {"type": "string"}}
    token = {"name": "url_token", "in": "path", "required": True, "schema": {"type": "string"}}
    body = {"required": True, "content": {
        "application/json": {"schema": {}},
        "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
        "multipart/form-data": {"schema": {"type": "object"}}}}
    intake_answers = {**_ok(202, "Accepted", "stored; delivered to MEGA shortly"),
                      **_ok(200, "Accepted", "duplicates only, or nothing to deliver"),
                      **_errors(400, 401, 404, 413, 415, 422, 503)}
    intake_answers["200"]["content"]["text/xml"] = {"schema": {"type": "string", "description": (
        "a source answering in its provider's own format (twilio: empty TwiML)")}}
    check = {"summary": "a provider's URL check (Meta's hub.challenge, Intercom's HEAD)",
             "responses": {"200": {"description": "the route exists (Meta: the challenge)"},
                           **_errors(400, 401, 403, 404, 503)}}
    for path, params, suffix in (("/hooks/{route}", [route], ""),
                                 ("/hooks/{route}/{url_token}", [route, token], "WithToken")):
        spec.path(path=path, parameters=params, operations={
            "post": {"operationId": f"receiveWebhook{suffix}",
                     "summary": "receive a provider's webhook", "tags": ["intake"],
                     "requestBody": body, "responses": intake_answers},
            "get": {"operationId": f"checkWebhookUrl{suffix}", **check, "tags": ["intake"]}})
    admin: list[dict[str, list[str]]] = [{"admin": []}]
    denied = _errors(401, 404)
    event_id = {"name": "event_id", "in": "path", "required": True, "schema": {"type": "string"}}
    spec.path(path="/v1/events/{event_id}", parameters=[event_id], operations={"get": {
        "operationId": "getEvent",
        "summary": "one event: status, MEGA calls and failed attempts, outcome, MEGA "
                   "lead id, warnings",
        "tags": ["admin"], "security": admin,
        "responses": {**_ok(200, "Event", "the event"), **denied, **_errors(503)}}})
    spec.path(path="/v1/customers", operations={"get": {
        "operationId": "listCustomers",
        "summary": "every customer: pending, in flight, delivered, dead, held and why",
        "tags": ["admin"], "security": admin,
        "responses": {**_ok(200, "Customers", "per customer"), **denied, **_errors(503)}}})
    customer = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    spec.path(path="/v1/customers/{name}", parameters=[customer], operations={"get": {
        "operationId": "getCustomer", "summary": "one customer", "tags": ["admin"],
        "security": admin,
        "responses": {**_ok(200, "Customer", "the customer"), **denied, **_errors(503)}}})
    spec.path(path="/v1/routes", operations={"get": {
        "operationId": "listRoutes",
        "summary": "every route; Meta routes with source health and reconciliation counts",
        "tags": ["admin"], "security": admin,
        "responses": {**_ok(200, "Routes", "per route"), **denied, **_errors(503)}}})
    spec.path(path="/v1/dead-letters", operations={"get": {
        "operationId": "listDeadLetters", "summary": "dead letters, oldest first",
        "tags": ["admin"], "security": admin,
        "parameters": [{"in": "query", "schema": DeadLetterQuery}],
        "responses": {**_ok(200, "DeadLetters", "a page of dead letters"), **denied,
                      **_errors(400, 503)}}})
    spec.path(path="/v1/dead-letters/{event_id}/replay", parameters=[event_id], operations={
        "post": {"operationId": "replayDeadLetter",
                 "summary": "queue a dead letter again: its original idempotency key while the "
                            "body is unchanged, else a new one",
                 "tags": ["admin"], "security": admin,
                 "requestBody": {"required": False, "content": {
                     "application/json": {"schema": ReplayOptions}}},
                 "responses": {**_ok(202, "Replayed", "queued"), **denied,
                               **_errors(400, 503)}}})
    spec.path(path="/v1/dead-letters/{event_id}", parameters=[event_id], operations={
        "delete": {"operationId": "purgeDeadLetter", "summary": "delete a dead letter for good",
                   "tags": ["admin"], "security": admin,
                   "responses": {**_ok(200, "Purged", "deleted"), **denied, **_errors(503)}}})
    _import_paths(spec, admin, denied)
    return spec.to_dict()


def _import_paths(spec: APISpec, admin: list[dict[str, Any]], denied: dict[str, Any]) -> None:
    """POST /v1/imports (a CSV upload) and GET /v1/imports/{import_id} (its report)."""
    import_id = {"name": "import_id", "in": "path", "required": True,
                 "schema": {"type": "string"}}
    upload = {"file": {"type": "string", "format": "binary", "description": "the CSV file"}}
    spec.path(path="/v1/imports", operations={"post": {
        "operationId": "createImport", "tags": ["admin"], "security": admin,
        "summary": "import a CSV file of leads into a customer's MEGA, or preview it",
        "description": IMPORT_DESCRIPTION,
        "parameters": [{"in": "query", "schema": ImportOptions}],
        "requestBody": {"required": True, "content": {
            "multipart/form-data": {"schema": {"type": "object", "required": ["file"],
                                               "properties": upload}},
            "text/csv": {"schema": {"type": "string"}}}},
        "responses": {"202": {
            "description": "the file checked and queued: its report so far",
            "headers": {"Location": {"description": "/v1/imports/{import_id}, its progress",
                                     "schema": {"type": "string"}}},
            "content": {"application/json": {"schema": "ImportReport"}}},
            **denied, **_errors(400, 413, 415, 422, 503)}}})
    spec.path(path="/v1/imports/{import_id}", parameters=[import_id], operations={"get": {
        "operationId": "getImport",
        "summary": "an import's report", "tags": ["admin"], "security": admin,
        "responses": {**_ok(200, "ImportReport", "the report"), **denied,
                      **_errors(503)}}})


_SPEC: dict[str, Any] | None = None


@bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI document, built once."""
    global _SPEC
    if _SPEC is None:
        _SPEC = build_spec()
    return jsonify(_SPEC)
