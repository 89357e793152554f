"""leadgate's Redis store, by role: intake (here), delivery (gateway/lease.py: a flush's
fenced writes), and the read model with replays (gateway/readmodel.py).

Redis errors become StoreUnavailable in the intake and the read model.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import redis

from gateway.config import Customer
from gateway.encoding import dumps
from gateway.errors import ConfigError
from gateway.event import event_id
from gateway.index import Index
from gateway.keys import CLAIM, INGEST, REPLAY, Keys
from gateway.lease import Lease
from gateway.metrics import Metrics
from gateway.readmodel import ReadModel, translated
from gateway.records import Batch, now_ms

__all__ = ["Batch", "Store", "event_id", "now_ms", "translated"]

def require_redis_url(config: Any, command: str) -> str:
    """REDIS_URL, or ConfigError: production never falls back to a Redis on local disk."""
    if not config.redis_url:
        raise ConfigError(f"REDIS_URL is not set: `leadgate {command}` needs a Redis "
                          "(only `leadgate dev` and the tests start an embedded one)")
    return str(config.redis_url)


class _Own:
    """A thread's own connection: its thread-local goes when the thread ends, and with it
    this object, whose finalizer closes the socket (not left to the garbage collector)."""

    __slots__ = ("conn", "__weakref__")

    def __init__(self, conn: Any):
        self.conn = conn


class Packed:
    """A Lua script called on the hot path: EVALSHA packed in one go and sent on a connection
    of the calling thread's own. The pool's checkout (its lock, its bookkeeping and a probe of
    the socket for unread data) cost ~30 µs of CPU per call, a third of the round trip; a
    thread's own connection needs none of it, because redis-py disconnects a connection on any
    error while sending or reading, so it never holds a half-read answer."""

    def __init__(self, client: redis.Redis, script: str):
        self.redis, self.script = client, script
        self.sha = hashlib.sha1(script.encode()).hexdigest().encode()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._closers: list[weakref.finalize] = []  # type: ignore[type-arg]

    def __call__(self, keys: list[str], args: list[str]) -> Any:
        try:
            return self._call(self._packed(keys, args))
        except redis.exceptions.NoScriptError:       # a restarted or flushed Redis
            self.redis.script_load(self.script)
            return self._call(self._packed(keys, args))

    def close(self) -> None:
        """Close every thread's connection now."""
        with self._lock:
            closers, self._closers = self._closers, []
        for closer in closers:
            closer()

    def _packed(self, keys: list[str], args: list[str]) -> bytes:
        parts = [b"EVALSHA", self.sha, str(len(keys)).encode(),
                 *(p.encode() for p in keys), *(p.encode() for p in args)]
        return b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p)
                                                    for p in parts)

    def _connection(self) -> Any:
        """This thread's connection, made as the client's pool makes its own, and closed when
        the thread ends. A forked process makes new ones: a socket never crosses a fork."""
        own = getattr(self._local, "own", None)
        if own is None or own.conn.pid != os.getpid():    # redis-py notes its maker's pid
            pool = self.redis.connection_pool
            own = self._local.own = _Own(pool.connection_class(**pool.connection_kwargs))
            with self._lock:
                self._closers = [c for c in self._closers if c.alive]
                self._closers.append(weakref.finalize(own, own.conn.disconnect))
        return own.conn

    def _call(self, packed: bytes) -> Any:
        conn = self._connection()
        try:
            return self._round_trip(conn, packed)
        except redis.exceptions.ConnectionError:
            # A connection Redis dropped while it idled (a restart, a failover) fails at first
            # use: one more try on a new one. The script is idempotent (an event it stored
            # already reads as a duplicate), so a send that did land is harmless.
            conn.disconnect()
            return self._round_trip(conn, packed)

    @staticmethod
    def _round_trip(conn: Any, packed: bytes) -> Any:
        conn.send_packed_command([packed])
        return conn.read_response()


class Store(ReadModel):
    """One object for the web app and the worker: intake, claims, leases, the read model."""

    def __init__(self, client: redis.Redis, *, keys: Keys | None = None,
                 clock: Callable[[], float] = time.time, index: Index | None = None):
        self.redis, self.keys, self.clock = client, keys or Keys(), clock
        self.index = index          # the console's events and contact index, when set
        self.metrics = Metrics(client, self.keys.metrics, window=self.keys.metrics_window)
        self._ingest = Packed(client, INGEST)
        self._claim = client.register_script(CLAIM)
        self._replay = client.register_script(REPLAY)

    def close(self) -> None:
        """Stop the background metrics thread (its last counts written) and close the
        intake's own connections."""
        self.metrics.close()
        self._ingest.close()

    # -- intake --------------------------------------------------------------------------
    def ingest(self, customer: Customer, records: list[dict[str, str]], ttl_s: int) -> list[bool]:
        """Store new events and queue the pending ones, in one round trip."""
        k = self.keys
        keys = [k.buffer(customer.name), k.due, k.leases, k.customer(customer.name),
                *(k.event(r["id"]) for r in records)]
        extra = [self.index.tag(records)] if self.index else []
        args = [customer.name, str(now_ms(self.clock)), str(customer.wait_ms),
                str(customer.max_batch), str(ttl_s), *(dumps(r) for r in records), *extra]
        with translated():
            return [bool(flag) for flag in self._ingest(keys, args)]

    # -- the console's index --------------------------------------------------------------
    def note_attempt(self, ids: list[str], entry: dict[str, Any]) -> None:
        """One delivery attempt on each event's timeline (when the index is on)."""
        if self.index:
            self.index.attempt(self.redis, ids, entry)

    def add_contacts(self, events: list[dict[str, str]], at_ms: int) -> None:
        """Contacts learnt after intake (an enrichment's leads) in the contact search."""
        if self.index and events:
            self.index.add_contacts(self.redis, events, at_ms)

    # -- leases --------------------------------------------------------------------------
    def claim(self, token: str, *, lease_s: float, limit: int) -> list[str]:
        """Lease the customers whose flush is due (and those whose flush died)."""
        k = self.keys
        got = self._claim(keys=[k.due, k.leases, k.owners],
                          args=[now_ms(self.clock), int(lease_s * 1000), limit, token])
        return [c.decode() for c in got]

    def lease(self, customer: str, token: str) -> Lease:
        """The delivery role: a flush's fenced writes for one customer under its token."""
        return Lease(self.redis, self.keys, customer, token, clock=self.clock)
