"""The store's Lua scripts, as Lua: one file per script in gateway/store/lua/ (package data),
with the helpers it uses (event_fields, buckets, tombstone, fence: their own files) prepended.
Each script's text is read and put together once per process (`source`), and registered once
per client (`register`: its SHA computed then, EVALSHA at each call)."""

from __future__ import annotations

import weakref
from functools import cache
from importlib.resources import files

import redis
from redis.commands.core import Script

from gateway.domain.records import SHORT_NAMES

HELPERS = ("event_fields", "buckets", "tombstone", "fence")

# script -> the helpers prepended to it, in this order
USES: dict[str, tuple[str, ...]] = {
    "ingest": ("event_fields", "buckets"),
    "claim": (),
    "renew": (),
    "release": ("fence",),
    "unpark": ("fence",),
    "take": ("fence",),
    "write": ("fence", "event_fields"),
    "replay": ("event_fields",),
    "purge": (),
    "lock_renew": (),
    "lock_release": (),
    "locked_hset": (),
    "signin_count": (),
    "session_set": (),
    "alert_transition": (),
    "alert_claim": (),
    "import_rows": (),
    "import_tally": ("event_fields", "buckets"),
    "attempt_log": ("event_fields",),
    "compact": ("event_fields", "buckets", "tombstone"),
    "tombstone_read": ("buckets",),
    "contact_add": ("buckets",),
}


def _file(name: str) -> str:
    return (files("gateway.store") / "lua" / f"{name}.lua").read_text(encoding="utf-8")


def _ev_names() -> str:
    """event_fields' table of short names, from records.SHORT_NAMES (its one source)."""
    return "local EV_NAMES = {" + ", ".join(
        f"{name} = '{short}'" for name, short in SHORT_NAMES.items()) + "}"


@cache
def source(name: str) -> str:
    """The text Redis runs for script `name`: its helpers, then its own file."""
    parts: list[str] = []
    for helper in USES[name]:
        parts += [_ev_names(), _file(helper)] if helper == "event_fields" else [_file(helper)]
    return "".join("\n" + part for part in [*parts, _file(name)])


_registered: weakref.WeakKeyDictionary[redis.Redis, dict[str, Script]] = \
    weakref.WeakKeyDictionary()


def register(client: redis.Redis, name: str) -> Script:
    """Script `name` on client, made once per client: EVALSHA, the script loaded on first use
    (and again after a flush or a restart)."""
    scripts = _registered.setdefault(client, {})
    if name not in scripts:
        scripts[name] = client.register_script(source(name))
    return scripts[name]
