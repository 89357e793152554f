"""The ops console at /console: where every lead is, search by contact, timelines, replay.

Server-rendered (Flask, Jinja) with vendored htmx for the self-refreshing overview; signed in
with the admin token, off (404) while `server.admin_token` is empty.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Flask, Request, Response, request, send_from_directory
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin

from gateway import defaults
from gateway.store.index import SESSION_PURPOSE, derive, server_secret
from gateway.web.context import app_context

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")   # the console's origin only
HEADERS = {                        # on every console answer: never cached, framed or sniffed
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


class ConsoleSessions(SecureCookieSessionInterface):
    """Flask's signed cookie (a session id and the CSRF token; the session itself is in Redis,
    sessions.py), Secure whenever the browser reached us over HTTPS: directly, or through the
    trusted proxies (server.trusted_proxies) that say so."""

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The cookie is only ever sent under its path: elsewhere (every webhook) an empty
        session, without building the signer (~20 µs a request)."""
        if not request.path.startswith(self.get_cookie_path(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """Nothing to write for an untouched empty session: Flask's own early return, before
        it reads the cookie's settings."""
        if session or session.modified or session.accessed:
            super().save_session(app, session, response)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Mark the session cookie Secure whenever the request came over HTTPS."""
        return request.is_secure


@bp.after_request
def _headers(response: Response) -> Response:
    """Pages that show contacts and custom fields: not cached, not framed, not sniffed."""
    response.headers.update(HEADERS)
    return response


def favicon() -> Response:
    """/favicon.ico, which browsers ask for on every page (the console's layout links it too)."""
    return send_from_directory(bp.static_folder or "", "favicon.ico",
                               max_age=defaults.FAVICON_MAX_AGE_S)


def init_app(app: Flask) -> None:
    """Register the console; sessions are signed with a key derived from the server secret."""
    from gateway.web.console import auth, errors, pages, views  # noqa: F401  (they join bp)

    server = app_context(app).config.server
    secret = server_secret(server.secret_key, server.admin_token)
    if secret:
        app.secret_key = derive(secret, SESSION_PURPOSE)
    app.session_interface = ConsoleSessions()
    app.config.update(SESSION_COOKIE_NAME="leadgate_console", SESSION_COOKIE_PATH="/console",
                      SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Strict",
                      PERMANENT_SESSION_LIFETIME=timedelta(seconds=defaults.CONSOLE_SESSION_S))
    app.register_blueprint(bp)
    app.add_url_rule("/favicon.ico", "favicon", favicon)
