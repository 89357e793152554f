"""Bounded flattening: nested JSON read as dotted paths costs a small multiple of the body's
size, and a body beyond the limits gets a 400 or 413 that says which limit."""

from __future__ import annotations

import gc
import json
import tracemalloc
from typing import Any

import pytest
import redis
from werkzeug.datastructures import Headers

from gateway import defaults
from gateway.domain.sources import SOURCES, Inbound
from gateway.errors import LeadgateError
from tests.conftest import URL_TOKEN, stored_keys

NAME = "n" * defaults.FLATTEN_MAX_KEY_CHARS


def nested(depth: int, leaves: int, name: str = NAME) -> dict[str, Any]:
    """depth levels of objects under names of the given length, then `leaves` short fields."""
    node: dict[str, Any] = {f"f{i}": "v" for i in range(leaves)}
    for level in range(depth):
        node = {f"{name[:-3]}{level:03d}": node}
    return {"email": "ana@example.com", "deep": node}


def inbound(body: bytes) -> Inbound:
    return Inbound("POST", Headers({"Content-Type": "application/json"}), {}, body,
                   "application/json", URL_TOKEN, 0.0)


# The bodies that cost the most per byte: the longest names nested as deep as allowed (each
# leaf's path repeats them), the most fields of the shortest names, and the most items.
WORST = {
    "longest names, deepest": nested(defaults.FLATTEN_MAX_DEPTH - 2, 20),
    "longest names, deepest, too many": nested(defaults.FLATTEN_MAX_DEPTH - 2, 2000),
    "most short fields": {f"a{i}": 0 for i in range(defaults.FLATTEN_MAX_PATHS - 1)},
    "too many short fields": {f"a{i}": 0 for i in range(4 * defaults.FLATTEN_MAX_PATHS)},
    "most items": [{"n": "x", "email": "a@b.co"} for _ in range(1000)],
    "the reported shape": nested(7, 5000, "k" * 2000),
}


SETTINGS = SOURCES["generic"].load_settings({"url_token": "limits-url-token-0123"})


@pytest.mark.parametrize("name", sorted(WORST))
def test_worst_case_body_costs_a_small_multiple_of_its_size(name: str) -> None:
    """tracemalloc's peak while parsing (JSON, dotted paths, contacts), against the body's size.
    The reported shape cost about 1,000x its size before the limits (70 MB for 68 KB)."""
    body = json.dumps(WORST[name]).encode()
    peak = min(parse_peak(body) for _ in range(3))   # other threads allocate too, now and then
    assert peak < 40 * len(body), f"{peak / len(body):.0f}x the body's {len(body)} bytes"


def parse_peak(body: bytes) -> int:
    """tracemalloc's peak, in bytes, while the generic source parses body."""
    gc.collect()
    tracemalloc.start()
    try:
        SOURCES["generic"].parse(inbound(body), SETTINGS)
    except LeadgateError:
        pass
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


@pytest.mark.parametrize(("body", "status", "reason"), [
    (nested(defaults.FLATTEN_MAX_DEPTH - 1, 1, "k" * 8), 400, "nested deeper than"),
    ({"email": "ana@example.com", "k" * (defaults.FLATTEN_MAX_KEY_CHARS + 1): 1}, 400,
     "longer than 256 characters"),
    (nested(defaults.FLATTEN_MAX_DEPTH - 2, 2000), 413, "characters of dotted paths"),
    ({f"a{i}": 0 for i in range(defaults.FLATTEN_MAX_PATHS + 1)}, 413, "more than 10000 fields"),
    ([{f"a{i}": 0 for i in range(100)} for _ in range(101)], 413, "more than 10000 fields"),
])
def test_beyond_the_limits_is_a_4xx_with_the_reason(client: Any, redis_client: redis.Redis,
                                                    body: Any, status: int,
                                                    reason: str) -> None:
    response = client.post(f"/hooks/acme-form/{URL_TOKEN}", json=body)
    assert response.status_code == status
    assert reason in response.get_json()["error"]["message"]
    assert stored_keys(redis_client) == []


def test_within_the_limits_a_nested_lead_is_read(client: Any) -> None:
    body = nested(defaults.FLATTEN_MAX_DEPTH - 2, 3, "k" * 40)
    assert client.post(f"/hooks/acme-form/{URL_TOKEN}", json=body).status_code == 202
