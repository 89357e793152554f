"""One overall deadline for an outside call (MEGA, Graph, Google).

httpx's timeouts apply per phase: an answer that trickles in a byte at a time never trips
them. So the body is streamed and the deadline checked between chunks; the phases before it
have their own bounds. One call never takes longer than `call_s(timeout_s)`, which the lease
(gateway/domain/policy.py) is built on. The decoded body is capped too (MAX_ANSWER_BYTES): a small
gzip answer can decode to gigabytes; past the cap the call fails with AnswerTooLarge.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from gateway import defaults


class AnswerTooLarge(httpx.DecodingError):
    """The answer decodes to more than the cap: the call failed, its outcome unknown."""

    def __init__(self, status: int, max_bytes: int):
        super().__init__(f"answer larger than {_size(max_bytes)}")
        self.status = status


def _size(n: int) -> str:
    return f"{n / 1024 / 1024:g} MiB" if n >= 1024 * 1024 else f"{n} bytes"


def client_timeout(timeout_s: float) -> httpx.Timeout:
    """Per-phase bounds: a short wait for a pooled connection, connect capped, then timeout_s."""
    return httpx.Timeout(timeout_s, connect=min(timeout_s, defaults.CONNECT_TIMEOUT_S),
                         pool=defaults.POOL_TIMEOUT_S)


def call_s(timeout_s: float) -> float:
    """The longest one call can take: pool + connect + write + headers, or deadline + a read."""
    return defaults.POOL_TIMEOUT_S + min(timeout_s, defaults.CONNECT_TIMEOUT_S) + 2 * timeout_s


def request_within(http: httpx.Client, method: str, url: str, *, deadline_s: float,
                   clock: Callable[[], float] = time.monotonic,
                   max_bytes: int = defaults.MAX_ANSWER_BYTES,
                   **kwargs: Any) -> tuple[int, bytes, httpx.Headers]:
    """Status, body and headers of one request; ReadTimeout once deadline_s has passed,
    AnswerTooLarge once the decoded body passes max_bytes."""
    deadline = clock() + deadline_s
    chunks: list[bytes] = []
    size = 0
    with http.stream(method, url, **kwargs) as response:
        for chunk in response.iter_bytes():
            if clock() > deadline:
                raise httpx.ReadTimeout("no whole answer within the deadline")
            size += len(chunk)
            if size > max_bytes:
                raise AnswerTooLarge(response.status_code, max_bytes)
            chunks.append(chunk)
        if clock() > deadline:
            raise httpx.ReadTimeout("no whole answer within the deadline")
        return response.status_code, b"".join(chunks), response.headers
