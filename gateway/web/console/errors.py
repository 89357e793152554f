"""The console's error pages: an HTML page in its layout with a way back, where the API
(/v1) answers JSON."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import abort, render_template, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from gateway.errors import InboundError, StoreFull
from gateway.web.console import bp

log = logging.getLogger("leadgate.console")
TITLES = {400: "That request was not understood", 401: "Sign in first",
          403: "Not allowed", 404: "Not found", 413: "Too large",
          429: "Too many requests", 500: "Something went wrong", 503: "Redis is unavailable"}
STORE_DOWN = ("leadgate cannot reach its Redis, so this page cannot be read. Webhooks are "
              "answered 503 meanwhile, so providers send them again. Try again in a moment; "
              "if it lasts, check REDIS_URL and the Redis server.")


def page(status: int, message: str, *, retry_after_s: int | None = None) -> Response:
    """The error page: what went wrong, in the console's layout, with links back."""
    body = render_template("error.html", status=status, message=message, back=_back(),
                           title=TITLES.get(status, "Error"))
    response = Response(body, status=status, mimetype="text/html")
    if retry_after_s:
        response.headers["Retry-After"] = str(retry_after_s)
    return response


def _back() -> str:
    """The console page the browser came from, if it came from one (not this very page)."""
    referrer = urlsplit(request.referrer or "")
    same = referrer.netloc == request.host and referrer.path.startswith(bp.url_prefix or "")
    path = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return path if same and referrer.path != request.path else ""


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return page(exc.code or 500, exc.description or exc.name)


@bp.errorhandler(InboundError)
def _inbound_error(exc: InboundError) -> Response:
    message = exc.message if isinstance(exc, StoreFull) or exc.status_code != 503 \
        else STORE_DOWN
    return page(exc.status_code, message, retry_after_s=getattr(exc, "retry_after_s", None))


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    log.error("console: unexpected error: %s", type(exc).__name__, exc_info=exc)
    return page(500, "The console could not show this page; the web process's log says why.")


@bp.route("/<path:unknown>", methods=["GET", "POST"])
def unknown(unknown: str) -> Response:
    """Any other address under /console: the not-found page."""
    abort(404, f"There is no console page at {url_for('console.overview')}{unknown}.")
