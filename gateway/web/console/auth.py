"""Console sign-in: the admin token for a signed, expiring session; CSRF on every POST."""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Any

from flask import abort, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from gateway import defaults
from gateway.store.index import CLIENT_PURPOSE, derive, hashed, server_secret
from gateway.web.console import bp, sessions
from gateway.web.context import app_context

log = logging.getLogger("leadgate.console")
OPEN = ("console.login", "console.static")


def signed_in() -> bool:
    """A live session: its record in Redis, neither revoked nor expired (by the app's clock);
    kept on g.console for the request."""
    g.console = sessions.load(app_context().store, session.get("sid"))
    return g.console is not None


def client() -> str:
    """The client's address: the peer's, or what the trusted proxies (server.trusted_proxies)
    say it is."""
    return request.remote_addr or ""


def client_tag() -> str:
    """The client's address as a log line or key name may hold it: keyed by the server secret."""
    server = app_context().config.server
    secret = server_secret(server.secret_key, server.admin_token) or b""
    return hashed(client(), derive(secret, CLIENT_PURPOSE))


def session_tag() -> str:
    """The signed-in session as logs name it (a digest of its id, never the id)."""
    return sessions.handle(str(session.get("sid", "")))


def check_csrf() -> None:
    """A POST carries the session's token, as a form field or the X-CSRF-Token header."""
    expected = session.get("csrf", "")
    given = request.form.get("csrf") or request.headers.get("X-CSRF-Token", "")
    if not expected or not hmac.compare_digest(str(given).encode(), str(expected).encode()):
        abort(403, "missing or wrong CSRF token: reload the page")


@bp.before_request
def _guard() -> Response | None:
    """Off without an admin token; signed-in only; CSRF on whatever changes state."""
    if not app_context().config.server.admin_token:
        abort(404, "the console is disabled (set server.admin_token)")
    if request.endpoint in OPEN:
        if request.method == "POST":
            check_csrf()
        return None
    if not signed_in():
        session.clear()
        if request.headers.get("HX-Request"):
            return Response(status=401, headers={"HX-Redirect": url_for("console.login")})
        if request.method != "GET":
            abort(401, "sign in first")
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    if request.method == "POST":
        check_csrf()
    return None


@bp.app_context_processor
def _csrf() -> dict[str, Any]:
    return {"csrf_token": session.get("csrf", ""), "refresh_s": defaults.CONSOLE_REFRESH_S}


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The login form, and a login by the admin token (with its CSRF token)."""
    if request.method == "GET":
        session.setdefault("csrf", secrets.token_urlsafe(32))
        return render_template("login.html", error=None)
    ctx = app_context()
    store, tag = ctx.store, client_tag()
    if sessions.count_signin(store, tag) > defaults.SIGNIN_MAX_FAILURES:
        log.warning("console sign-in refused: too many failures", extra={"client": tag})
        return render_template("login.html", error="Too many failed sign-ins: wait a few "
                               "minutes."), 429
    expected = ctx.config.server.admin_token
    if not hmac.compare_digest(request.form.get("token", "").encode(), expected.encode()):
        log.warning("console sign-in failed", extra={"client": tag})
        return render_template("login.html", error="That is not the admin token."), 401
    sessions.forgive_signin(store, tag)
    sessions.end(store, session.get("sid"))
    session.clear()
    session.permanent = True
    session.update(sid=sessions.start(store), csrf=secrets.token_urlsafe(32))
    log.info("console sign-in", extra={"session": session_tag(), "client": tag})
    target = request.args.get("next", "")
    return redirect(target if target.startswith("/console") else url_for("console.overview"))


@bp.post("/logout")
def logout() -> Response:
    """Sign out: the session is revoked in Redis, so a copy of the cookie is refused too."""
    sessions.end(app_context().store, session.get("sid"))
    session.clear()
    return redirect(url_for("console.login"))
