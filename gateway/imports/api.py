"""`/v1/imports`: a CSV upload imported or previewed, and an import's report; admin token."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.datastructures import MultiDict

from gateway import defaults
from gateway.admin import authorize
from gateway.errors import BadRequest, RouteNotFound, UnsupportedMediaType
from gateway.imports import run
from gateway.imports.preview import Previewer
from gateway.imports.record import Imports
from gateway.imports.rows import Plan, make_plan

bp = Blueprint("imports", __name__, url_prefix="/v1/imports")
TRUE = ("1", "true", "yes", "on")


@bp.before_request
def _authorize() -> None:
    authorize()
    request.max_content_length = defaults.IMPORT_MAX_UPLOAD_MB * 1024 * 1024


def _imports() -> Imports:
    ctx = current_app.extensions["leadgate"]
    return Imports(ctx.store, ttl_s=ctx.config.dedup_ttl_s)


@bp.post("")
def create() -> tuple[Response, int]:
    """Import (202, with the report so far) or preview (200, dry_run) the uploaded CSV."""
    options = MultiDict(request.args)
    if request.mimetype == "multipart/form-data":
        options.update(request.form)
    with _upload() as (upload, name):
        plan = _plan(options)
        if options.get("dry_run", "").lower() in TRUE:
            return jsonify(_preview(plan, upload)), 200
        run.start(_imports(), plan, upload, name=name)
    report = _imports().report(plan.import_id)
    response = jsonify(report)
    response.headers["Location"] = f"/v1/imports/{plan.import_id}"
    return response, 202


@bp.get("/<import_id>")
def show(import_id: str) -> Response:
    """An import's report: counts so far, the first failed rows, what is still pending."""
    report = _imports().report(import_id)
    if report is None:
        raise RouteNotFound(f"no import {import_id}")
    return jsonify(report)


def _plan(options: MultiDict[str, str]) -> Plan:
    if not options.get("customer"):
        raise BadRequest("customer is required")
    maps = {}
    for pair in options.getlist("map"):
        column, sep, target = pair.rpartition("=")
        if not sep or not column:
            raise BadRequest(f"map '{pair}' is not COLUMN=FIELD")
        maps[column] = target
    config = current_app.extensions["leadgate"].config
    return make_plan(config, run.new_import_id(), customer=options["customer"],
                     route=options.get("route") or None, maps=maps,
                     id_column=options.get("id_column") or None,
                     on_duplicate=options.get("on_duplicate") or None)


@contextmanager
def _upload() -> Iterator[tuple[IO[bytes], str]]:
    """The CSV (a multipart `file`, or a text/csv body) as a seekable file, and its name."""
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None:
            raise BadRequest("send the CSV as the multipart field 'file'")
        try:
            yield upload.stream, upload.filename or ""       # type: ignore[misc]
        finally:
            upload.close()
        return
    if request.mimetype not in ("text/csv", "text/plain", "application/csv"):
        raise UnsupportedMediaType("send text/csv, or multipart/form-data with a 'file'")
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as body:
        shutil.copyfileobj(request.stream, body)
        yield body, ""


def _preview(plan: Plan, upload: IO[bytes]) -> dict[str, Any]:
    """MEGA's dry run of the upload, row by row; nothing stored."""
    from workers.mega import MegaClient

    config = current_app.extensions["leadgate"].config
    rows: list[dict[str, Any]] = []
    mega = MegaClient(base_url=config.mega["base_url"], timeout_s=config.mega["timeout_s"])
    try:
        dry = run.DryRun(plan, Previewer(mega, plan.customer, plan.on_duplicate,
                                         max_wait_s=defaults.IMPORT_API_MAX_WAIT_S),
                         _imports(), on_row=rows.append)
        report = dry.run(upload)
    finally:
        mega.close()
    return {**report, "rows": rows}
