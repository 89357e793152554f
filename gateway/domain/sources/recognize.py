"""Recognise name, email and phone among a provider's fields, whatever they are called."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gateway import defaults
from gateway.errors import BadRequest, PayloadTooLarge

NAME = {"name", "full_name", "fullname", "contact_name", "your_name", "customer_name"}
FIRST = {"first_name", "firstname", "given_name", "fname", "first"}
LAST = {"last_name", "lastname", "surname", "family_name", "lname", "last"}
EMAIL = {"email", "email_address", "emailaddress", "contact_email", "e_mail", "your_email",
         "work_email"}
PHONE = {"phone", "phone_number", "phonenumber", "mobile", "mobile_phone", "mobile_number",
         "telephone", "tel", "contact_phone", "cell", "cell_phone", "work_phone", "your_phone"}
ROLES = {name: role for role, names in (("name", NAME), ("first", FIRST), ("last", LAST),
                                         ("email", EMAIL), ("phone", PHONE)) for name in names}
SEPARATORS = re.compile(r"[\s\-.]+")
MAX_DEPTH = 3


@dataclass
class Budget:
    """What is left of one delivery's flattening limits (shared by its items)."""

    paths: int = defaults.FLATTEN_MAX_PATHS
    chars: int = defaults.FLATTEN_MIN_PATH_CHARS

    @classmethod
    def for_body(cls, size: int) -> Budget:
        """The limits of a delivery of size bytes: path characters grow with the body."""
        return cls(chars=max(defaults.FLATTEN_MIN_PATH_CHARS,
                             defaults.FLATTEN_PATH_CHARS_PER_BYTE * size))


def flatten(value: Any, budget: Budget | None = None) -> dict[str, Any]:
    """Nested objects as dotted paths ('data.email'); lists of objects get their index.

    Bounded: each path is built once, and depth, name length, path count and total path
    length are limited (a 400 or 413 that says which), so memory stays near the body's size.
    """
    out: dict[str, Any] = {}
    _walk(value, "", 0, out, Budget() if budget is None else budget)
    return out


def _walk(value: Any, path: str, depth: int, out: dict[str, Any], budget: Budget) -> None:
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        items = enumerate(value[:defaults.FLATTEN_MAX_LIST_OBJECTS])
    else:
        if depth:
            _leaf(path, value, out, budget)
        return
    if depth >= defaults.FLATTEN_MAX_DEPTH:
        raise BadRequest(f"fields are nested deeper than {defaults.FLATTEN_MAX_DEPTH} levels")
    for key, item in items:
        name = key if isinstance(key, str) else str(key)
        if len(name) > defaults.FLATTEN_MAX_KEY_CHARS:
            raise BadRequest(f"a field name under '{path[:60]}' is longer than "
                             f"{defaults.FLATTEN_MAX_KEY_CHARS} characters")
        _walk(item, f"{path}.{name}" if depth else name, depth + 1, out, budget)


def _leaf(path: str, value: Any, out: dict[str, Any], budget: Budget) -> None:
    budget.paths -= 1
    budget.chars -= len(path)
    if budget.paths < 0:
        raise PayloadTooLarge(f"more than {defaults.FLATTEN_MAX_PATHS} fields in one delivery")
    if budget.chars < 0:
        raise PayloadTooLarge("nested field names add up to more than "
                              f"{defaults.FLATTEN_PATH_CHARS_PER_BYTE} characters of dotted "
                              "paths per byte of body")
    out[path] = value


def canonical(name: str) -> str:
    """'Phone Number' and 'phone-number' both read as 'phone_number'."""
    return SEPARATORS.sub("_", name.strip().lower()).strip("_")


def recognize(fields: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The contact fields found by their usual names (shallowest path wins) and the keys used."""
    found: dict[str, tuple[int, str, Any]] = {}
    for path, value in fields.items():
        depth = path.count(".")
        if depth >= MAX_DEPTH or value is None or value == "" or value == []:
            continue
        role = ROLES.get(canonical(path.rsplit(".", 1)[-1]) if depth else canonical(path))
        if role and (role not in found or depth < found[role][0]):
            found[role] = (depth, path, value)
    lead: dict[str, Any] = {}
    if "name" in found:
        lead["contact_name"] = found["name"][2]
    elif "first" in found or "last" in found:
        parts = [str(found[r][2]).strip() for r in ("first", "last") if r in found]
        lead["contact_name"] = " ".join(p for p in parts if p)
    if "email" in found:
        lead["contact_email"] = found["email"][2]
    if "phone" in found:
        lead["contact_phone"] = found["phone"][2]
    return lead, {entry[1] for entry in found.values()}
