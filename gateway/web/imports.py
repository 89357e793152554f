"""`/v1/imports`: a CSV upload imported or previewed, and an import's report; admin token."""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import IO, Any

from flask import Blueprint, Response, jsonify, request
from werkzeug.datastructures import MultiDict

from gateway import defaults
from gateway.errors import (
    BadRequest,
    InboundError,
    RouteNotFound,
    StoreUnavailable,
    UnsupportedMediaType,
)
from gateway.imports import run
from gateway.imports.preview import Previewer
from gateway.imports.record import Imports
from gateway.imports.rows import Plan, make_plan
from gateway.web.admin import authorize
from gateway.web.context import app_context

bp = Blueprint("imports", __name__, url_prefix="/v1/imports")
TRUE = ("1", "true", "yes", "on")
log = logging.getLogger("leadgate.imports")
_RUNNERS = threading.BoundedSemaphore(defaults.IMPORT_WEB_RUNNERS)   # uploads read at once


class ImportsBusy(StoreUnavailable):
    """This web process reads IMPORT_WEB_RUNNERS uploads already."""


@bp.before_request
def _authorize() -> None:
    authorize()
    request.max_content_length = defaults.IMPORT_MAX_UPLOAD_MB * 1024 * 1024


def _imports() -> Imports:
    ctx = app_context()
    return Imports(ctx.store, ttl_s=ctx.config.dedup_ttl_s)


@bp.post("")
def create() -> tuple[Response, int]:
    """Check the uploaded CSV (bytes, rows, columns), then import or preview it in the
    background: 202 with the report so far; GET the Location for its progress."""
    options = MultiDict(request.args)
    if request.mimetype == "multipart/form-data":
        options.update(request.form)
    plan = _plan(options)
    imports = _imports()
    with _upload() as (upload, name):
        source = _spool(upload)
    if not _RUNNERS.acquire(blocking=False):
        source.close()
        raise ImportsBusy("this web process is reading another upload: try again shortly")
    try:
        if options.get("dry_run", "").lower() in TRUE:
            job, failed = _begin_preview(plan, imports, source)
        else:
            total = run.begin(imports, plan, source, name=name)
            job = partial(run.store, imports, plan, source, total)
            failed = partial(imports.failed, plan.import_id)
        threading.Thread(target=_in_background, args=(job, failed, imports, plan.import_id,
                                                      source),
                         name=f"leadgate-{plan.import_id}", daemon=True).start()
    except BaseException:
        source.close()
        _RUNNERS.release()
        raise
    response = jsonify(imports.report(plan.import_id))
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
    config = app_context().config
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
            yield upload.stream, upload.filename or ""
        finally:
            upload.close()
        return
    if request.mimetype not in ("text/csv", "text/plain", "application/csv"):
        raise UnsupportedMediaType("send text/csv, or multipart/form-data with a 'file'")
    with tempfile.TemporaryFile() as body:
        shutil.copyfileobj(request.stream, body)
        body.seek(0)
        yield body, ""


def _spool(upload: IO[bytes]) -> IO[bytes]:
    """The upload copied to a temporary file of this process (it outlives the request)."""
    source = tempfile.TemporaryFile()
    try:
        shutil.copyfileobj(upload, source)
        source.seek(0)
    except BaseException:
        source.close()
        raise
    return source


def _begin_preview(plan: Plan, imports: Imports, source: IO[bytes]
                   ) -> tuple[Callable[[], None], Callable[[str], None]]:
    """Check the file and record the dry run; the preview to run in the background, and
    what records its failure."""
    from gateway.mega.client import MegaClient

    run.check(plan, source)
    config = app_context().config
    rows: list[dict[str, Any]] = []
    mega = MegaClient(base_url=config.mega.base_url, timeout_s=config.mega.timeout_s)
    dry = run.DryRun(plan, Previewer(mega, plan.customer, plan.on_duplicate,
                                     max_wait_s=defaults.IMPORT_API_MAX_WAIT_S),
                     imports, on_row=rows.append, rows_told=defaults.IMPORT_PREVIEW_ROWS_SHOWN)

    def report(status: str, **more: str) -> None:
        """Store the dry run's report so far, under `status`."""
        imports.preview(plan.import_id, {**dry.report(), "status": status, "rows": rows,
                                         **more})

    def preview() -> None:
        """Run the dry run in the background; its report says when it is done."""
        try:
            dry.run(source, progress=lambda _done, _total: report("previewing"))
        finally:
            mega.close()
        report("preview")

    report("previewing")
    return preview, lambda reason: report("failed", error=reason)


def _in_background(job: Callable[[], None], failed: Callable[[str], None], imports: Imports,
                   import_id: str, source: IO[bytes]) -> None:
    """Run an upload's import or preview off the request's thread, with its heartbeat; a
    failure is recorded."""
    try:
        with imports.beating(import_id):
            job()
    except Exception as exc:
        log.warning("import %s stopped: %s", import_id, _reason(exc))
        with suppress(Exception):
            failed(_reason(exc))
    finally:
        source.close()
        _RUNNERS.release()


def _reason(exc: Exception) -> str:
    return exc.message if isinstance(exc, InboundError) else \
        f"stopped on an error ({type(exc).__name__})"
