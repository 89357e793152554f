"""One JSON object per log line, with contact data masked on the way out.

Nothing logs a lead on purpose; the mask is the safety net for text that quotes one (a
provider's or MEGA's error message, say). Secrets are never passed to a logger at all.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any

from pythonjsonlogger.json import JsonFormatter

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+\.[A-Za-z0-9.-]+)")
PHONE = re.compile(r"(?<![\w-])\+?\(?\d[\d ().-]{5,}\d(?![\w-])")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SAFE = {"event_id", "events", "route", "customer", "endpoint", "key", "outcome", "status",
        "duration_ms", "rows", "code", "taskName"}
QUIET = ("httpx", "httpcore", "rq.worker", "werkzeug")
STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)))   # a record's own attributes


def mask(text: str) -> str:
    """'ana@example.com' -> 'a***@example.com'; '+1 415 555 0123' -> '***23'."""
    return PHONE.sub(_phone, EMAIL.sub(r"\1***@\2", text))


def _phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = re.sub(r"\D", "", text)
    if len(digits) < 7 or DATE.match(text):
        return text
    return "***" + digits[-2:]


class MaskContacts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args or record.exc_info or not record.msg.isidentifier():
            record.msg, record.args = mask(record.getMessage()), None   # free text: mask it
        for name in vars(record).keys() - SAFE - STANDARD:
            value = getattr(record, name)
            if isinstance(value, str):
                setattr(record, name, mask(value))
        return True



class TextFormatter(logging.Formatter):
    """`LOG_FORMAT=text` (what `leadgate dev` uses): one readable line, extras as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in STANDARD and v is not None
                  and k not in ("message", "asctime", "taskName")}
        return line + "".join(f" {k}={v}" for k, v in extras.items())


def configure(level: str | None = None, stream: Any = None, fmt: str | None = None) -> None:
    """JSON lines on stdout (where Heroku's router and log drains read them), or text."""
    handler = logging.StreamHandler(stream or sys.stdout)
    if (fmt or os.environ.get("LOG_FORMAT", "json")) == "text":
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonFormatter(
            "{asctime}{levelname}{name}{message}", style="{",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger"}))
    handler.addFilter(MaskContacts())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level or os.environ.get("LOG_LEVEL", "INFO"))
    for name in QUIET:           # their lines repeat ours, or carry URLs and job arguments
        logging.getLogger(name).setLevel(logging.WARNING)
