"""Source health of Meta routes: is the page token valid, how long it lives, may it read leads,
and is this app still subscribed to the page's leadgen webhooks.

Meta sends no notice when a token dies or another app takes the subscription; these checks
run when a worker starts, hourly after, and on demand in `leadgate status`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from gateway import defaults
from gateway.config import Config, Route
from gateway.store import Store, now_ms
from workers.meta.graph import GraphError
from workers.meta.pages import MetaPages

log = logging.getLogger("leadgate.health")
STATES = ("healthy", "token_expiring", "token_invalid", "not_subscribed", "permission_missing",
          "unknown")
SCOPE = "leads_retrieval"


def assess(token: dict[str, Any], apps: list[dict[str, Any]] | None, now: float) -> dict[str, Any]:
    """The state from debug_token's data and the page's subscribed apps (None: not checked)."""
    expires_at = int(token.get("expires_at") or 0)
    days = int((expires_at - now) // 86400) if expires_at else None
    base = {"expires_at": expires_at, "days_left": days, "app_id": str(token.get("app_id", ""))}
    if not token.get("is_valid") or (expires_at and expires_at <= now):
        error = token.get("error") if isinstance(token.get("error"), dict) else {}
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
    s = route.settings
    try:
        token = pages.debug_token(s["graph_api_url"], s["page_access_token"],
                                  access_token=s.get("app_access_token", ""))
        if not token.get("is_valid"):
            return assess(token, None, now)
        apps = pages.subscribed_apps(s["graph_api_url"], s["page_access_token"],
                                     s["page_id"]) if s.get("page_id") else None
    except GraphError as exc:
        state = {"token": "token_invalid", "permission": "permission_missing",
                 "gone": "permission_missing"}.get(exc.kind, "unknown")
        return {"state": state, "detail": str(exc)[:300], "expires_at": 0, "days_left": None,
                "app_id": ""}
    return assess(token, apps, now)


def meta_routes(config: Config) -> list[Route]:
    return [r for r in config.routes.values() if r.source == "meta_lead_ads"]


class HealthChecker:
    """Checks every Meta route when due and keeps the results in Redis."""

    def __init__(self, config: Config, store: Store, *, clock: Callable[[], float] = time.time,
                 pages: MetaPages | None = None, every_s: float = defaults.HEALTH_EVERY_S):
        self.config, self.store, self.clock, self.every_s = config, store, clock, every_s
        self.pages = pages or MetaPages(timeout_s=config.mega["timeout_s"])
        self._next = 0.0          # a worker checks at start, then every every_s

    def tick(self) -> None:
        if self.clock() >= self._next:
            self.check_all()
            self._next = self.clock() + self.every_s

    def check_all(self) -> dict[str, dict[str, Any]]:
        """Check every Meta route now and store the results."""
        results = {r.name: {**check(r, self.pages, self.clock()),
                            "checked_at_ms": now_ms(self.clock)}
                   for r in meta_routes(self.config)}
        if results:
            self.store.redis.hset(self.store.keys.source_health,
                                  mapping={k: json.dumps(v) for k, v in results.items()})
        for name, result in results.items():
            if result["state"] != "healthy":
                log.warning("source health of %s: %s (%s)", name, result["state"],
                            result["detail"])
        return results
