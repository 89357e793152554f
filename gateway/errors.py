"""leadgate's exceptions, split by what the caller must do.

    LeadgateError
    ├── ConfigError                      the config file is wrong: stop and say where
    ├── InboundError (status_code)       answer the provider with this 4xx/5xx
    │   ├── BadRequest 400   ├── Unauthorized 401   ├── RouteNotFound 404
    │   ├── PayloadTooLarge 413 (flattening limits; the body limit is Flask's)
    │   ├── UnsupportedMediaType 415
    │   ├── NoUsableLead 422   └── StoreUnavailable 503
    │                                  ├── StoreFull 503 + Retry-After: Redis is at maxmemory
    │                                  └── NotAcknowledged 503 + Retry-After: stored, but not
    │                                      on disk / on a replica in time (server.ack)
    ├── Ignored                          a delivery to acknowledge and drop (pings, partials)
    ├── LeaseLost                        a flush's lease moved to another flush: stop writing
    ├── SourceError (kind, route_wide)   a source's own API failed (Meta: GraphError, Google:
    │   │                                GoogleAdsError); route_wide: hold the route's leads
    │   └── GoogleAdsError               Google's OAuth endpoint or the Google Ads API
    └── DeliveryError (request context)  a MEGA call failed
        ├── RetryableDeliveryError        retry the same bytes with the same key
        │   ├── MegaUnavailable            transport error, timeout, 5xx, 2xx not MEGA's JSON,
        │   │                              409 while the key's first request is in progress
        │   └── MegaRateLimited            429: wait for the reset, not an attempt
        └── PermanentDeliveryError        resending the same bytes will not help
            ├── MegaCredentialsError       401/403/404: the customer's setup is wrong: hold
            ├── MegaBadRequest             400: isolate the offending rows
            └── MegaConflict               409: the key was reused with another body
"""

from __future__ import annotations

from gateway import defaults


class LeadgateError(Exception):
    """Root of every leadgate error."""


class ConfigError(LeadgateError):
    """The configuration cannot be used; the message names the key and the problem."""


class InboundError(LeadgateError):
    """A webhook or API request refused: its HTTP status, message and details."""

    status_code = 400

    def __init__(self, message: str, *, details: object = None):
        super().__init__(message)
        self.message, self.details = message, details


class BadRequest(InboundError):
    """400: the request cannot be read as the source's delivery."""

    status_code = 400


class Unauthorized(InboundError):
    """401: the request's signature, token or secret does not check out."""

    status_code = 401


class RouteNotFound(InboundError):
    """404: no route of that name."""

    status_code = 404


class PayloadTooLarge(InboundError):
    """413: the body is over the size limit."""

    status_code = 413


class UnsupportedMediaType(InboundError):
    """415: a content type the source does not send."""

    status_code = 415


class NoUsableLead(InboundError):
    """422: the delivery holds no lead MEGA could take."""

    status_code = 422


class StoreUnavailable(InboundError):
    """503: Redis cannot be reached or refused the write; retry later."""

    status_code = 503
    retry_after_s: int | None = None          # sent as Retry-After when set


def cause_name(exc: BaseException) -> str:
    """The name of what raised exc (a Redis error's, behind StoreUnavailable), else exc's."""
    return type(exc.__cause__ or exc).__name__


class StoreFull(StoreUnavailable):
    """Redis is at (or within the workers' reserve of) its memory limit."""

    retry_after_s = defaults.STORE_FULL_RETRY_AFTER_S

    def __init__(self, message: str = "the event store is full (Redis is at its memory "
                 "limit); leads already accepted are still delivered: retry later",
                 **kwargs: object):
        super().__init__(message, **kwargs)


class NotAcknowledged(StoreUnavailable):
    """The event is stored, but server.ack's wait (fsync or replica) fell short: the
    provider's resend waits again, and is answered 2xx only once the wait holds."""

    retry_after_s = defaults.NOT_ACKNOWLEDGED_RETRY_AFTER_S


class Ignored(LeadgateError):
    """A delivery the provider expects a 2xx for, that carries no lead (ping, partial...)."""


class LeaseLost(LeadgateError):
    """The customer's lease belongs to another flush now; this one writes nothing more."""


class SourceError(LeadgateError):
    """A source's own API failed. `route_wide`: the route's access fails as a whole (its leads
    are held, the rest go on; reconciliation alerts); otherwise the batch retries. `kind` in the
    source's own words (token_invalid, permission_missing, throttled, unavailable...), `reason`
    a short code naming it in states (never a secret); `retry_after_s` when the API said."""

    def __init__(self, message: str, *, kind: str = "unavailable", reason: str = "",
                 route_wide: bool = False, retry_after_s: float | None = None,
                 status: int | None = None):
        super().__init__(message)
        self.kind, self.reason, self.route_wide = kind, reason or "source_unavailable", route_wide
        self.retry_after_s, self.status = retry_after_s, status

    @property
    def health(self) -> str:
        """The source-health state this failure shows: token_invalid, permission_missing or
        unknown."""
        return self.kind if self.kind in ("token_invalid", "permission_missing") else "unknown"


class GoogleAdsError(SourceError):
    """Google's OAuth token endpoint or the Google Ads API refused or failed."""


class DeliveryError(LeadgateError):
    """A send to MEGA that failed: the endpoint, MEGA's status, body and rate budget."""

    def __init__(self, message: str, *, endpoint: str = "", status: int | None = None,
                 body: object = None, rate: object = None):
        super().__init__(message)
        self.endpoint, self.status, self.body, self.rate = endpoint, status, body, rate


class RetryableDeliveryError(DeliveryError):
    """A failed send worth trying again (a timeout, a 5xx, a 429)."""

    pass


class MegaUnavailable(RetryableDeliveryError):
    """MEGA did not answer, answered a 5xx or an unreadable 2xx, or is still on the key."""

    pass


class MegaRateLimited(RetryableDeliveryError):
    """MEGA's 429: try again after retry_after_s."""

    def __init__(self, message: str, *, retry_after_s: float, **kwargs: object):
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after_s = retry_after_s


class PermanentDeliveryError(DeliveryError):
    """A failed send that the same request would fail again."""

    pass


class MegaCredentialsError(PermanentDeliveryError):
    """MEGA refused the customer's token or the endpoint (401, 403, 404, 405)."""

    pass


class MegaBadRequest(PermanentDeliveryError):
    """MEGA refused the request itself (another 4xx)."""

    pass


class MegaConflict(PermanentDeliveryError):
    """MEGA's 409: the idempotency key was used with another body."""

    pass
