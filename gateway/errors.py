"""leadgate's exceptions, split by what the caller must do.

    LeadgateError
    ├── ConfigError                      the config file is wrong: stop and say where
    ├── InboundError (status_code)       answer the provider with this 4xx/5xx
    │   ├── BadRequest 400   ├── Unauthorized 401   ├── RouteNotFound 404
    │   ├── PayloadTooLarge 413 (flattening limits; the body limit is Flask's)
    │   ├── UnsupportedMediaType 415
    │   ├── NoUsableLead 422   └── StoreUnavailable 503
    ├── Ignored                          a delivery to acknowledge and drop (pings, partials)
    ├── LeaseLost                        a flush's lease moved to another flush: stop writing
    ├── SourceApiError (kind, route_wide) a provider's API failed (reconciliation, health)
    │   └── GoogleAdsError                 Google's OAuth endpoint or the Google Ads API
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


class LeadgateError(Exception):
    """Root of every leadgate error."""


class ConfigError(LeadgateError):
    """The configuration cannot be used; the message names the key and the problem."""


class InboundError(LeadgateError):
    status_code = 400

    def __init__(self, message: str, *, details: object = None):
        super().__init__(message)
        self.message, self.details = message, details


class BadRequest(InboundError):
    status_code = 400


class Unauthorized(InboundError):
    status_code = 401


class RouteNotFound(InboundError):
    status_code = 404


class PayloadTooLarge(InboundError):
    status_code = 413


class UnsupportedMediaType(InboundError):
    status_code = 415


class NoUsableLead(InboundError):
    status_code = 422


class StoreUnavailable(InboundError):
    status_code = 503


class Ignored(LeadgateError):
    """A delivery the provider expects a 2xx for, that carries no lead (ping, partial...)."""


class LeaseLost(LeadgateError):
    """The customer's lease belongs to another flush now; this one writes nothing more."""


class SourceApiError(LeadgateError):
    """A provider API call failed. kind: token_invalid, permission_missing (route_wide: the
    route's credentials or access are wrong; hold and alert), throttled (wait retry_after_s),
    unavailable (retry later) or unknown; `reason` is the provider's code, never a secret."""

    def __init__(self, message: str, *, kind: str, reason: str = "", route_wide: bool = False,
                 retry_after_s: float | None = None, status: int | None = None):
        super().__init__(message)
        self.kind, self.reason, self.route_wide = kind, reason, route_wide
        self.retry_after_s, self.status = retry_after_s, status

    @property
    def health(self) -> str:
        """The source-health state this failure shows: token_invalid, permission_missing or
        unknown."""
        return self.kind if self.kind in ("token_invalid", "permission_missing") else "unknown"


class GoogleAdsError(SourceApiError):
    """Google's OAuth token endpoint or the Google Ads API refused or failed."""


class DeliveryError(LeadgateError):
    def __init__(self, message: str, *, endpoint: str = "", status: int | None = None,
                 body: object = None, rate: object = None):
        super().__init__(message)
        self.endpoint, self.status, self.body, self.rate = endpoint, status, body, rate


class RetryableDeliveryError(DeliveryError):
    pass


class MegaUnavailable(RetryableDeliveryError):
    pass


class MegaRateLimited(RetryableDeliveryError):
    def __init__(self, message: str, *, retry_after_s: float, **kwargs: object):
        super().__init__(message, **kwargs)  # type: ignore[arg-type]
        self.retry_after_s = retry_after_s


class PermanentDeliveryError(DeliveryError):
    pass


class MegaCredentialsError(PermanentDeliveryError):
    pass


class MegaBadRequest(PermanentDeliveryError):
    pass


class MegaConflict(PermanentDeliveryError):
    pass
