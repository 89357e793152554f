"""JSON text as leadgate writes it per webhook (stored rows and records, log lines): compact
and fast (orjson), with the standard library for what orjson refuses (integers beyond 64 bits,
lone surrogates)."""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any, *, sort_keys: bool = False) -> str:
    """Compact JSON text; values JSON cannot hold are written as their text."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0,
                            default=str).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, sort_keys=sort_keys, separators=(",", ":"), default=str)


def loads(text: str | bytes) -> Any:
    """JSON text as `dumps` writes it, read fast (orjson); the standard library for what orjson
    refuses (lone surrogates, NaN, integers beyond 64 bits)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
