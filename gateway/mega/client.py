"""MEGA's push-leads API over httpx: the only place httpx errors are caught and translated."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from gateway.deadline import AnswerTooLarge, client_timeout, request_within
from gateway.domain.tenancy import Customer
from gateway.errors import (
    DeliveryError,
    MegaBadRequest,
    MegaConflict,
    MegaCredentialsError,
    MegaRateLimited,
    MegaUnavailable,
)
from gateway.mega.contract import BULK_PATH, SINGLE_PATH

PATHS = {"single": SINGLE_PATH, "bulk": BULK_PATH}
IN_PROGRESS = "in progress"   # a 409 naming this: the key's first request is still running
USER_AGENT = "leadgate/0.1"


@dataclass(frozen=True)
class RateInfo:
    """The RateLimit-* headers of one answer (None where absent)."""

    limit: int | None
    remaining: int | None
    reset_s: float | None
    retry_after_s: float | None

    @classmethod
    def from_headers(cls, headers: httpx.Headers) -> RateInfo:
        """The rate information of an answer's headers."""
        return cls(_number(headers.get("RateLimit-Limit")),
                   _number(headers.get("RateLimit-Remaining")),
                   _seconds(headers.get("RateLimit-Reset")),
                   _seconds(headers.get("Retry-After")))


@dataclass(frozen=True)
class MegaResponse:
    """MEGA's answer: HTTP status, JSON body and the rate budget its headers report."""

    status: int
    body: dict[str, Any]
    rate: RateInfo


class MegaClient:
    """One pooled client for the worker's lifetime; each call has one overall deadline,
    `timeout_s` (gateway/deadline.py)."""

    def __init__(self, *, base_url: str, timeout_s: float,
                 transport: httpx.BaseTransport | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.timeout_s, self._clock = timeout_s, clock
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=client_timeout(timeout_s),
            limits=httpx.Limits(max_connections=20, max_keepalive_connections=10),
            headers={"User-Agent": USER_AGENT}, transport=transport)

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def send(self, customer: Customer, endpoint: str, body: bytes, key: str) -> MegaResponse:
        """POST frozen bytes; raise the DeliveryError that says what to do next."""
        headers = {"Authorization": f"Bearer {customer.token}",
                   "x-customer-id": customer.customer_id,
                   "Content-Type": "application/json", "Idempotency-Key": key}
        try:
            status, raw, answer_headers = self._post(PATHS[endpoint], body, headers)
        except AnswerTooLarge as exc:       # unreadable, like a 2xx that is not MEGA's JSON
            raise MegaUnavailable(f"MEGA's {exc}", endpoint=endpoint,
                                  status=exc.status) from exc
        except httpx.TimeoutException as exc:
            raise MegaUnavailable(f"timeout ({type(exc).__name__})", endpoint=endpoint) from exc
        except httpx.HTTPError as exc:
            raise MegaUnavailable(f"connection failed ({type(exc).__name__})",
                                  endpoint=endpoint) from exc
        rate = RateInfo.from_headers(answer_headers)
        if 200 <= status < 300:
            return MegaResponse(status, answer(endpoint, status, raw, rate), rate)
        raise classify(endpoint, status, _error_body(raw), rate)

    def _post(self, path: str, body: bytes, headers: dict[str, str]
              ) -> tuple[int, bytes, httpx.Headers]:
        return request_within(self._http, "POST", path, deadline_s=self.timeout_s,
                              clock=self._clock, content=body, headers=headers)


def answer(endpoint: str, status: int, raw: bytes, rate: RateInfo) -> dict[str, Any]:
    """MEGA's JSON of a 2xx, checked for its shape; else MegaUnavailable (outcome unknown)."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MegaUnavailable("MEGA answered 2xx with a body that is not JSON",
                              endpoint=endpoint, status=status, rate=rate) from exc
    shaped = isinstance(body, dict) and (
        isinstance(body.get("lead"), dict) if endpoint == "single" else
        isinstance(body.get("results"), list) and all(isinstance(r, dict)
                                                      for r in body["results"]))
    if not shaped:
        raise MegaUnavailable("MEGA answered 2xx with an unexpected shape", endpoint=endpoint,
                              status=status, body=_clip(body), rate=rate)
    return body  # type: ignore[no-any-return]


def classify(endpoint: str, status: int, body: Any, rate: RateInfo) -> DeliveryError:
    """The DeliveryError for a non-2xx answer."""
    message = f"MEGA {status}: {_message(body)}"
    kwargs: dict[str, Any] = {"endpoint": endpoint, "status": status, "body": body, "rate": rate}
    if status == 429:
        wait = rate.retry_after_s or rate.reset_s or 1.0
        return MegaRateLimited(message, retry_after_s=wait, **kwargs)
    if status in (401, 403, 404, 405):
        return MegaCredentialsError(message, **kwargs)
    if status == 409 and IN_PROGRESS in message.lower():
        return MegaUnavailable(message, **kwargs)   # not a conflict: ask again later
    if status == 409:
        return MegaConflict(message, **kwargs)
    if 400 <= status < 500:
        return MegaBadRequest(message, **kwargs)
    return MegaUnavailable(message, **kwargs)


def _error_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return {"raw": raw[:500].decode("utf-8", "replace")}


def _clip(body: Any) -> Any:
    return json.dumps(body)[:500]


def _message(body: Any) -> str:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))[:500]
    return str(body)[:200]


def _number(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _seconds(value: str | None) -> float | None:
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
