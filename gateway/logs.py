"""One JSON object per log line, with contact data masked on the way out.

Nothing logs a lead on purpose; the mask is the safety net for text that quotes one (a
provider's or MEGA's error message, say). Secrets are never passed to a logger at all.
"""

from __future__ import annotations

import logging
import re
import sys
import time
import traceback
from typing import Any

from gateway.encoding import dumps

EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+\.[A-Za-z0-9.-]+)")
PHONE = re.compile(r"(?<![\w-])\+?\(?\d[\d ().-]{5,}\d(?![\w-])")
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
SAFE = {"event_id", "events", "route", "customer", "endpoint", "key", "outcome", "status",
        "duration_ms", "rows", "code", "taskName"}
QUIET = ("httpx", "httpcore", "rq.worker", "werkzeug")
STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None)))   # a record's own attributes
OWN = {"message", "asctime", "taskName"}                                  # set by formatting


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
    """Masks the message, the extras, and a traceback or stack (formatted here, once, so that
    neither log format prints the exception's own text unmasked)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask contacts in free-text messages; keep structured ones as they are."""
        if record.args or record.exc_info or not isinstance(record.msg, str) or \
                not record.msg.isidentifier():
            record.msg, record.args = mask(record.getMessage()), None   # free text: mask it
        if record.exc_info:
            record.exc_text = mask("".join(traceback.format_exception(*record.exc_info)).rstrip())
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = mask(record.exc_text)
        if record.stack_info:
            record.stack_info = mask(record.stack_info)
        for name in vars(record).keys() - SAFE - STANDARD:
            value = getattr(record, name)
            if value is not None and not isinstance(value, int | float):
                setattr(record, name, _masked(value))
        return True


def _masked(value: Any) -> Any:
    """Strings masked, inside lists and dicts too; other objects as masked text."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list | tuple):
        return [_masked(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _masked(v) for k, v in value.items()}
    if isinstance(value, bool | int | float) or value is None:
        return value
    return mask(str(value))


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the extras, a traceback."""

    _second: tuple[int, str] = (0, "")

    def format(self, record: logging.LogRecord) -> str:
        """One log record as one JSON line, with its extra fields."""
        line = {"time": self.formatTime(record), "level": record.levelname,
                "logger": record.name, "message": record.getMessage()}
        for name, value in vars(record).items():
            if name not in STANDARD and name not in OWN:
                line[name] = value
        if record.exc_text:
            line["exc_info"] = record.exc_text
        if record.stack_info:
            line["stack_info"] = record.stack_info
        return dumps(line)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """'2026-05-01 12:00:00,123' (local time), the date part built once a second."""
        second, text = self._second
        if int(record.created) != second:
            second = int(record.created)
            text = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(second))
            self._second = (second, text)
        return f"{text},{int(record.msecs):03d}"


class TextFormatter(logging.Formatter):
    """`LOG_FORMAT=text` (what `leadgate dev` uses): one readable line, extras as key=value."""

    def format(self, record: logging.LogRecord) -> str:
        """One readable line, its extra fields as key=value."""
        line = super().format(record)
        extras = {k: v for k, v in vars(record).items() if k not in STANDARD and v is not None
                  and k not in ("message", "asctime", "taskName")}
        return line + "".join(f" {k}={v}" for k, v in extras.items())


def configure(level: str = "INFO", stream: Any = None, fmt: str = "json") -> None:
    """JSON lines on stdout (where Heroku's router and log drains read them), or text (the
    command line passes LOG_LEVEL and LOG_FORMAT)."""
    handler = logging.StreamHandler(stream or sys.stdout)
    if fmt == "text":
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    else:
        handler.setFormatter(JsonLines())
    handler.addFilter(MaskContacts())
    logging.logThreads = logging.logMultiprocessing = False  # unused (gunicorn prints pids)
    logging._srcfile = None          # no caller lookup per line: no format prints it
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET:           # their lines repeat ours, or carry URLs and job arguments
        logging.getLogger(name).setLevel(logging.WARNING)
