"""One overall deadline for an outside call (MEGA, Graph).

httpx's timeouts apply per phase: an answer that trickles in a byte at a time never trips
them. So the body is streamed and the deadline checked between chunks; the phases before it
have their own bounds. One call never takes longer than `call_s(timeout_s)`, which the lease
(workers/policy.py) is built on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from gateway import defaults


def client_timeout(timeout_s: float) -> httpx.Timeout:
    """Per-phase bounds: a short wait for a pooled connection, connect capped, then timeout_s."""
    return httpx.Timeout(timeout_s, connect=min(timeout_s, defaults.CONNECT_TIMEOUT_S),
                         pool=defaults.POOL_TIMEOUT_S)


def call_s(timeout_s: float) -> float:
    """The longest one call can take: pool + connect + write + headers, or deadline + a read."""
    return defaults.POOL_TIMEOUT_S + min(timeout_s, defaults.CONNECT_TIMEOUT_S) + 2 * timeout_s


def request_within(http: httpx.Client, method: str, url: str, *, deadline_s: float,
                   clock: Callable[[], float] = time.monotonic,
                   **kwargs: Any) -> tuple[int, bytes, httpx.Headers]:
    """Status, body and headers of one request; ReadTimeout once deadline_s has passed."""
    deadline = clock() + deadline_s
    chunks: list[bytes] = []
    with http.stream(method, url, **kwargs) as response:
        for chunk in response.iter_bytes():
            if clock() > deadline:
                raise httpx.ReadTimeout("no whole answer within the deadline")
            chunks.append(chunk)
        if clock() > deadline:
            raise httpx.ReadTimeout("no whole answer within the deadline")
        return response.status_code, b"".join(chunks), response.headers
