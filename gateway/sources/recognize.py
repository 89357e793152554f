"""Recognise name, email and phone among a provider's fields, whatever they are called."""

from __future__ import annotations

import re
from typing import Any

NAME = {"name", "full_name", "fullname", "contact_name", "your_name", "customer_name"}
FIRST = {"first_name", "firstname", "given_name", "fname", "first"}
LAST = {"last_name", "lastname", "surname", "family_name", "lname", "last"}
EMAIL = {"email", "email_address", "emailaddress", "contact_email", "e_mail", "your_email",
         "work_email"}
PHONE = {"phone", "phone_number", "phonenumber", "mobile", "mobile_phone", "mobile_number",
         "telephone", "tel", "contact_phone", "cell", "cell_phone", "work_phone", "your_phone"}
SEPARATORS = re.compile(r"[\s\-.]+")
MAX_DEPTH = 3


def flatten(value: Any, prefix: str = "", depth: int = 0) -> dict[str, Any]:
    """Nested objects as dotted paths ('data.email'); lists of objects get their index."""
    out: dict[str, Any] = {}
    if isinstance(value, dict) and depth < 8:
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}{key}.", depth + 1))
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        for index, item in enumerate(value[:100]):
            out.update(flatten(item, f"{prefix}{index}.", depth + 1))
    elif prefix:
        out[prefix[:-1]] = value
    return out


def canonical(name: str) -> str:
    """'Phone Number' and 'phone-number' both read as 'phone_number'."""
    return SEPARATORS.sub("_", name.strip().lower()).strip("_")


def recognize(fields: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """The contact fields found by their usual names (shallowest path wins) and the keys used."""
    found: dict[str, tuple[int, str, Any]] = {}
    for path, value in fields.items():
        if value in (None, "", []) or path.count(".") >= MAX_DEPTH:
            continue
        last = canonical(path.rsplit(".", 1)[-1])
        for role, names in (("name", NAME), ("first", FIRST), ("last", LAST),
                            ("email", EMAIL), ("phone", PHONE)):
            if last in names and (role not in found or path.count(".") < found[role][0]):
                found[role] = (path.count("."), path, value)
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
