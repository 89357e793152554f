"""leadgate's records as types, beside the key names in gateway/keys.py.

    Batch          {p}:batch:{customer}    a customer's in-flight batch (frozen once sent)
    Request        {p}:request:{key}       a sent request kept for replays under its key
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass


def now_ms(clock: Callable[[], float] = time.time) -> int:
    return int(clock() * 1000)


class MalformedBatch(ValueError):
    """A batch hash that cannot be read; `ids` and `created` are what could be."""

    def __init__(self, message: str, *, ids: list[str], created: int | None):
        super().__init__(message)
        self.ids, self.created = ids, created


@dataclass
class Batch:
    """A customer's in-flight batch; once `body` is set it is frozen and resent unchanged.

    `key_since` is when MEGA first saw `key` (a replay reusing a key inherits it);
    `replay_key` is the key of the request a replay came from, reused if the body is the
    same; `new_key` says an operator asked for a new key on replay."""

    ids: list[str]
    created: int
    attempts: int = 0
    endpoint: str = ""
    key: str = ""
    body: bytes = b""
    key_reason: str = ""
    key_since: int = 0
    replay_key: str = ""
    new_key: bool = False

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> Batch:
        """The batch from its hash; MalformedBatch if a field cannot be read."""
        data = {k.decode(): v for k, v in raw.items()}
        ids = [i for i in data.get("ids", b"").decode(errors="replace").split(",") if i]
        created = data.get("created", b"")
        try:
            return cls(ids=_need(ids), created=int(created),
                       attempts=int(data.get("attempts", b"0")),
                       endpoint=data.get("endpoint", b"").decode(),
                       key=data.get("key", b"").decode(), body=data.get("body", b""),
                       key_reason=data.get("key_reason", b"").decode(),
                       key_since=int(data.get("key_since", b"0") or 0),
                       replay_key=data.get("replay_key", b"").decode(),
                       new_key=data.get("new_key", b"") == b"1")
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedBatch(f"malformed batch record ({exc})", ids=ids,
                                 created=int(created) if created.isdigit() else None) from None


def _need(ids: list[str]) -> list[str]:
    if not ids:
        raise ValueError("no ids")
    return ids


@dataclass(frozen=True)
class SentRequest:
    """A request kept for replays ({p}:request:{key}): the exact bytes MEGA got."""

    endpoint: str
    key: str
    body: bytes
    ids: list[str]
    key_since: int

    @classmethod
    def from_hash(cls, raw: dict[bytes, bytes]) -> SentRequest | None:
        """The request, or None if it is gone (past key retention) or unreadable."""
        try:
            return cls(raw[b"endpoint"].decode(), raw[b"key"].decode(), raw[b"body"],
                       raw[b"ids"].decode().split(","), int(raw[b"key_since"]))
        except (KeyError, ValueError, UnicodeDecodeError):
            return None


@dataclass(frozen=True)
class Replay:
    """How dead letters go out again: which events, under which key, and why.

    `body` empty: the events go back to the buffer and the worker freezes them anew."""

    ids: list[str]
    key: str
    reason: str
    warning: str = ""
    endpoint: str = ""
    body: bytes = b""
    key_since: int = 0
