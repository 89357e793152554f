"""Source health of a Google lead-form route: may its credentials still list submissions?

Google sends no notice when a refresh token is revoked or a user loses access to the account;
one small search (the last minute's submissions) answers it. States, as for Meta: healthy,
token_invalid (`invalid_grant`, 401), permission_missing (`PERMISSION_DENIED`,
`USER_PERMISSION_DENIED`, `DEVELOPER_TOKEN_NOT_APPROVED`), unknown (the check itself failed).
"""

from __future__ import annotations

from typing import Any

from gateway.config import Route
from gateway.domain.sources import SOURCES
from gateway.errors import GoogleAdsError
from workers.google.ads import Credentials, GoogleAds

PROBE_S = 60                        # the window the probe lists, seconds


def check(ads: GoogleAds, settings: object, now: float) -> dict[str, Any]:
    """The route's state and why; never raises for Google's answers."""
    try:
        for _ in ads.submissions(Credentials.of(settings), since=now - PROBE_S, until=now):
            pass
    except GoogleAdsError as exc:
        return {"state": exc.health, "detail": f"Google says: {exc}"[:300],
                "reason": exc.reason}
    return {"state": "healthy", "detail": "", "reason": ""}


class GoogleHealth:
    """The health check Google routes declare; one instance per thread (it owns its client)."""

    def __init__(self, *, timeout_s: float, ads: GoogleAds | None = None):
        self.ads = ads or GoogleAds(timeout_s=timeout_s)

    def check(self, route: Route, now: float) -> dict[str, Any] | None:
        """The route's state, or None when it has no Ads API access to check."""
        if SOURCES[route.source].listing_needs(route.settings):
            return None
        return check(self.ads, route.settings, now)

    def close(self) -> None:
        self.ads.close()
