"""Building blocks of provider verification: HMACs, constant-time compares, body parsing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from marshmallow import ValidationError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.formparser import MultiPartParser
from werkzeug.http import parse_options_header

from gateway import defaults
from gateway.errors import BadRequest, Unauthorized

SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
STAMP = re.compile(rf"[0-9]{{1,{defaults.TIMESTAMP_MAX_DIGITS}}}")
WHSEC = re.compile(r"^whsec_[A-Za-z0-9+/=]+$")


def digest(secret: bytes | str, message: bytes, *, algorithm: str = "sha256",
           encoding: str = "hex") -> str:
    """HMAC of message, hex or base64 encoded."""
    key = secret.encode() if isinstance(secret, str) else secret
    mac = hmac.new(key, message, getattr(hashlib, algorithm)).digest()
    return mac.hex() if encoding == "hex" else base64.b64encode(mac).decode()


def matches_any(expected: str, candidates: Iterable[str], *, fold_case: bool = False) -> bool:
    """True when any candidate equals expected; every candidate compared in constant time."""
    want = (expected.lower() if fold_case else expected).encode()
    found = False
    for candidate in candidates:
        given = (candidate.lower() if fold_case else candidate).strip().encode()
        found |= hmac.compare_digest(want, given)
    return found


def whsec_key(secret: str) -> bytes:
    """The HMAC key a `whsec_<base64>` secret stands for; ValueError when it is not one."""
    if not WHSEC.match(secret):
        raise ValueError("not whsec_ followed by base64")
    return base64.b64decode(secret.removeprefix("whsec_") + "==")   # binascii.Error: ValueError


def check_whsec(secret: str) -> None:
    """Validator of a Standard Webhooks secret (a route's, the alerts'): one that signs."""
    try:
        whsec_key(secret)
    except ValueError:
        raise ValidationError("must be whsec_ followed by base64") from None


def require_secret(given: Any, secret: str, what: str) -> None:
    """Constant-time check of a shared secret carried in the request."""
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), secret.encode()):
        raise Unauthorized(f"{what} is missing or wrong")


def require_header(headers: Any, name: str) -> str:
    """The header's value; Unauthorized if it is missing or empty."""
    value = headers.get(name)
    if not value:
        raise Unauthorized(f"missing {name} header")
    return str(value)


def parse_stamp(stamp: str, what: str, unit: str) -> int:
    """A timestamp as the provider sends it: ASCII digits, a plausible number of them (no
    sign, `_`, space or a 400-digit number that no float holds); else the verification
    error."""
    if not STAMP.fullmatch(stamp):
        raise Unauthorized(f"{what} is not {unit}")
    return int(stamp)


def check_timestamp(ts: float, now: float, tolerance_s: float, what: str) -> None:
    """Reject timestamps too far in the past or in the future."""
    if abs(now - ts) > tolerance_s:
        raise Unauthorized(f"{what} is outside the {int(tolerance_s)} s tolerance")


def parse_json(body: bytes) -> Any:
    """Strict JSON: UTF-8, no duplicate keys, no NaN."""
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        """A JSON object whose keys are unique; BadRequest otherwise."""
        obj = dict(pairs)
        if len(obj) != len(pairs):
            raise BadRequest("JSON object has duplicate keys")
        return obj

    def no_constant(name: str) -> Any:
        """Refuse NaN and Infinity, which are not JSON."""
        raise BadRequest(f"JSON holds {name}, which is not JSON")

    try:
        text = body.decode("utf-8")
        value = json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant)
        if SURROGATE_ESCAPE.search(text):     # pairs are fine; a lone one is not Unicode
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value
    except UnicodeError:
        raise BadRequest("body is not valid Unicode (UTF-8, no lone surrogate escapes)") from None
    except RecursionError:
        raise BadRequest("JSON is nested too deeply") from None
    except ValueError as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None


def parse_form(body: bytes) -> dict[str, Any]:
    """A urlencoded form; a repeated name becomes a list."""
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          max_num_fields=1000)
    except UnicodeDecodeError:
        raise BadRequest("form body is not valid UTF-8") from None
    except ValueError as exc:
        raise BadRequest(f"form body is malformed: {exc}") from None
    form: dict[str, Any] = {}
    for key, value in pairs:
        if key in form:
            prior = form[key]
            form[key] = [*prior, value] if isinstance(prior, list) else [prior, value]
        else:
            form[key] = value
    return form


def parse_multipart(body: bytes, content_type: str) -> dict[str, str]:
    """A multipart/form-data body's text parts (files are not leads, and are ignored)."""
    mimetype, options = parse_options_header(content_type)
    boundary = options.get("boundary", "")
    if mimetype != "multipart/form-data" or not boundary:
        raise BadRequest("multipart body without a boundary")
    parser = MultiPartParser(max_form_memory_size=len(body) + 1, max_form_parts=1000)
    try:
        form, files = parser.parse(io.BytesIO(body), boundary.encode("latin-1"), len(body))
    except (ValueError, RequestEntityTooLarge) as exc:
        raise BadRequest(f"multipart body is malformed: {exc}") from None
    for _name, upload in files.items(multi=True):     # spooled to a temporary file: close it
        upload.close()
    return {name: form.get(name, "") for name in form}


def stable_hash(value: Any) -> str:
    """A stable id for a delivery that carries none: sha256 of its canonical JSON."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()
