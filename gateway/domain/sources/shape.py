"""Typed reads of a parsed delivery: a field of the wrong shape is a 400 that names the field
(never its value), so an authenticated but oddly shaped delivery never becomes a 500."""

from __future__ import annotations

from typing import Any

from gateway.errors import BadRequest

SCALAR = (str, int, float, bool)
KINDS = {dict: "an object", list: "a list", str: "a string", SCALAR: "a text, number or boolean"}


def member(node: dict[str, Any], key: str, kind: Any, where: str, default: Any = None) -> Any:
    """node[key] if it has the kind expected; missing or null gives default; else a 400."""
    value = node.get(key)
    if value is None:
        return default
    if not isinstance(value, kind):
        raise BadRequest(f"{where} must be {KINDS.get(kind, 'of another type')}")
    return value


def objects(node: dict[str, Any], key: str, where: str) -> list[dict[str, Any]]:
    """node[key] as a list of objects (missing or null: none); else a 400."""
    items = member(node, key, list, where, [])
    if not all(isinstance(item, dict) for item in items):
        raise BadRequest(f"{where} must be a list of objects")
    return items  # type: ignore[no-any-return]


def scalar(node: dict[str, Any], key: str, where: str) -> Any:
    """node[key] if it is a string, number, boolean or missing; else a 400."""
    return member(node, key, SCALAR, where)


def part(node: dict[str, Any], key: str) -> dict[str, Any]:
    """node[key] if it is an object, else an empty one: a part that is missing or of another
    shape holds nothing."""
    value = node.get(key)
    return value if isinstance(value, dict) else {}
