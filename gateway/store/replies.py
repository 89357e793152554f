"""Redis replies as text: the clients leadgate makes never decode, so a reply is bytes; the
type of redis-py's answers says bytes or str, and these narrow it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def text(value: bytes | str) -> str:
    """One reply (a key, a field, a value) as text."""
    return value.decode() if isinstance(value, bytes) else value


def text_hash(raw: Mapping[bytes, bytes] | Mapping[bytes | str, bytes | str]) -> dict[str, str]:
    """A hash reply (HGETALL) as text keys and values."""
    return {text(name): text(value) for name, value in raw.items()}


def members(reply: Iterable[Any]) -> list[str]:
    """A list reply (ZRANGE, SMEMBERS, LRANGE) as text."""
    return [text(member) for member in reply]


def scored(reply: Iterable[Any]) -> list[tuple[str, float]]:
    """A sorted-set reply WITHSCORES as (member, score) pairs."""
    return [(text(member), float(score)) for member, score in reply]


def raw_hash(raw: Mapping[bytes | str, bytes | str]) -> dict[bytes, bytes]:
    """A hash reply kept as bytes (for a record with binary values: a request's body)."""
    return {name: value for name, value in raw.items()
            if isinstance(name, bytes) and isinstance(value, bytes)}
