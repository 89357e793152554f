"""Source health of Meta routes (the check their source declares): is the page token valid,
how long it lives, may it read leads, and is this app still subscribed to
the page's leadgen webhooks.

Meta sends no notice when a token dies or another app takes the subscription; these checks
run when a worker starts, hourly after, and on demand in `leadgate status`.
"""

from __future__ import annotations

from typing import Any

from gateway import defaults
from gateway.config import Route
from gateway.domain.sources.providers.meta import MetaSettings
from gateway.domain.sources.shape import part
from workers.meta.graph import GraphError
from workers.meta.pages import MetaPages

STATES = ("healthy", "token_expiring", "token_invalid", "not_subscribed", "permission_missing",
          "unknown")
SCOPE = "leads_retrieval"


def assess(token: dict[str, Any], apps: list[dict[str, Any]] | None, now: float) -> dict[str, Any]:
    """The state from debug_token's data and the page's subscribed apps (None: not checked)."""
    expires_at = int(token.get("expires_at") or 0)
    days = int((expires_at - now) // 86400) if expires_at else None
    base = {"expires_at": expires_at, "days_left": days, "app_id": str(token.get("app_id", ""))}
    if not token.get("is_valid") or (expires_at and expires_at <= now):
        error = part(token, "error")
        why = str(error.get("message") or "expired")[:200]
        return {**base, "state": "token_invalid", "detail": f"Meta says the token is invalid: "
                                                            f"{why}"}
    if SCOPE not in (token.get("scopes") or []):
        return {**base, "state": "permission_missing",
                "detail": f"the token lacks the {SCOPE} permission"}
    if apps is not None and not any(str(a.get("id")) == base["app_id"] and "leadgen" in (
            a.get("subscribed_fields") or []) for a in apps):
        return {**base, "state": "not_subscribed",
                "detail": "the app is not subscribed to the page's leadgen webhooks"}
    if days is not None and days < defaults.TOKEN_WARN_DAYS:
        return {**base, "state": "token_expiring", "detail": f"the token expires in {days} days"}
    return {**base, "state": "healthy", "detail": ""}


def check(route: Route, pages: MetaPages, now: float) -> dict[str, Any]:
    """Ask Meta about the route's token and page; a failed question is its own state."""
    s = MetaSettings.of(route.settings)
    try:
        token = pages.debug_token(s.graph_api_url, s.page_access_token,
                                  access_token=s.app_access_token)
        if not token.get("is_valid"):
            return assess(token, None, now)
        apps = pages.subscribed_apps(s.graph_api_url, s.page_access_token,
                                     s.page_id) if s.page_id else None
    except GraphError as exc:
        state = {"token": "token_invalid", "permission": "permission_missing",
                 "gone": "permission_missing"}.get(exc.kind, "unknown")
        return {"state": state, "detail": str(exc)[:300], "expires_at": 0, "days_left": None,
                "app_id": ""}
    return assess(token, apps, now)


class MetaHealth:
    """The health check Meta routes declare; one instance per thread (it owns its client)."""

    def __init__(self, *, timeout_s: float, pages: MetaPages | None = None):
        self.pages = pages or MetaPages(timeout_s=timeout_s)

    def check(self, route: Route, now: float) -> dict[str, Any]:
        """This route's source health now."""
        return check(route, self.pages, now)

    def close(self) -> None:
        """Close the Graph client."""
        self.pages.close()
