"""leadgate's Redis store, by role: intake (here), delivery (gateway/store/lease.py: a flush's
fenced writes), and the read model with replays (gateway/store/readmodel.py); the state kept
beside the events in gateway/store/state/. The only door to Redis: the Store keeps its client to
itself, and every Redis error becomes StoreUnavailable (gateway/store/connection.py).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import redis

from gateway import defaults
from gateway.config import Customer
from gateway.domain.event import event_id
from gateway.domain.records import Batch, now_ms
from gateway.encoding import dumps
from gateway.errors import ConfigError, NotAcknowledged, StoreFull
from gateway.store.connection import store_client, translated
from gateway.store.google_match import GoogleMatchIndex
from gateway.store.headroom import memory
from gateway.store.index import Index
from gateway.store.keys import Keys
from gateway.store.lease import Lease
from gateway.store.metrics import Metrics
from gateway.store.readmodel import ReadModel
from gateway.store.scripts import register, source
from gateway.store.state.alerts import Alerts
from gateway.store.state.history import History
from gateway.store.state.imports import ImportRecords
from gateway.store.state.reconciliations import Reconciliations
from gateway.store.state.sessions import Sessions

__all__ = ["Batch", "Store", "acknowledged", "event_id", "now_ms", "translated"]

def require_redis_url(config: Any, command: str) -> str:
    """REDIS_URL, or ConfigError: production never falls back to a Redis on local disk."""
    if not config.redis_url:
        raise ConfigError(f"REDIS_URL is not set: `leadgate {command}` needs a Redis "
                          "(only `leadgate dev` and the tests start an embedded one)")
    return str(config.redis_url)


def acknowledged(config: Any) -> dict[str, Any]:
    """The Store's keywords from the config: server.ack, server.ack_timeout_ms, and
    redis.max_memory_mb."""
    return {"ack": config.server.ack, "ack_timeout_ms": config.server.ack_timeout_ms,
            "max_memory_mb": config.redis.max_memory_mb}


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
        self._redis, self.script = client, script
        self.sha = hashlib.sha1(script.encode()).hexdigest().encode()
        self._local = threading.local()
        self._lock = threading.Lock()
        self._closers: list[weakref.finalize] = []  # type: ignore[type-arg]

    def __call__(self, keys: list[str], args: list[str]) -> Any:
        try:
            return self._call(self._packed(keys, args))
        except redis.exceptions.NoScriptError:       # a restarted or flushed Redis
            self._redis.script_load(self.script)
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
            pool = self._redis.connection_pool
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

    def confirm(self, commands: list[tuple[str | int, ...]], timeout_s: float) -> list[Any]:
        """Commands sent in one go on this thread's connection, and their answers (an error
        answer as its exception, every answer read so that none is left on the socket). A
        WAIT or WAITAOF here waits for the writes this connection made: it must follow the
        script on the same socket."""
        conn = self._connection()
        conn.send_packed_command(conn.pack_commands(commands))
        answers: list[Any] = []
        for _ in commands:
            try:
                answers.append(conn.read_response(timeout=timeout_s))
            except redis.exceptions.ResponseError as exc:
                answers.append(exc)
        return answers

    @staticmethod
    def _round_trip(conn: Any, packed: bytes) -> Any:
        conn.send_packed_command([packed])
        return conn.read_response()


class Store(ReadModel):
    """One object for the web app and the worker: intake, claims, leases, the read model."""

    def __init__(self, client: redis.Redis, *, keys: Keys | None = None,
                 clock: Callable[[], float] = time.time, index: Index | None = None,
                 ack: str = defaults.ACK, ack_timeout_ms: int = defaults.ACK_TIMEOUT_MS,
                 max_memory_mb: int | None = None):
        client = store_client(client)      # Redis trouble is StoreUnavailable from here on
        self._redis, self.keys, self.clock = client, keys or Keys(), clock
        self.index = index          # the console's events and contact index, when set
        self.ack, self.ack_timeout_ms = ack, ack_timeout_ms     # server.ack: see acknowledge
        self.max_memory_mb, self._room = max_memory_mb, (float("-inf"), True)  # (seen at, ok)
        self.sessions = Sessions(client, self.keys, clock)
        self.reconciliations = Reconciliations(client, self.keys)
        self.alerts = Alerts(client, self.keys)
        self.imports = ImportRecords(client, self.keys)
        self.history = History(client, self.keys)      # the console's hourly charts
        self.metrics = Metrics(client, self.keys.metrics, window=self.keys.metrics_window,
                               history=self.history, clock=clock)
        self._ingest = Packed(client, source("ingest"))
        self._claim = register(client, "claim")
        self._replay = register(client, "replay")
        self._purge = register(client, "purge")
        self._compact = register(client, "compact")
        self._tombstones = register(client, "tombstone_read")

    def close(self) -> None:
        """Stop the background metrics thread (its last counts written) and close the
        intake's own connections."""
        self.metrics.close()
        self._ingest.close()

    def ping(self) -> None:
        """Return when Redis answers; StoreUnavailable when it does not."""
        self._redis.ping()

    @property
    def google_match(self) -> GoogleMatchIndex:
        """Google routes' webhook leads, for reconciliation's matching."""
        return GoogleMatchIndex(self._redis, self.keys)

    # -- intake --------------------------------------------------------------------------
    def ingest(self, customer: Customer, records: list[dict[str, str]], ttl_s: int) -> list[bool]:
        """Store new events and queue the pending ones, in one round trip (and a look at the
        memory once a second; a wait for the disk or a replica if server.ack asks)."""
        self.check_room()
        k = self.keys
        keys = [k.buffer(customer.name), k.due, k.leases, k.customer(customer.name), k.compact,
                *(k.event(r["id"]) for r in records)]
        extra = [self.index.tag(records)] if self.index else []
        args = [customer.name, str(now_ms(self.clock)), str(customer.wait_ms),
                str(customer.max_batch), str(ttl_s), *(dumps(r) for r in records),
                k.tombstones, *extra]
        with translated():
            added = [bool(flag) for flag in self._ingest(keys, args)]
            self.acknowledge(wrote=any(added))
        return added

    def check_room(self) -> None:
        """StoreFull once Redis is within the workers' reserve of its memory limit, so that
        they can still enqueue and record deliveries (INFO looked at once a second)."""
        seen_at, ok = self._room
        if abs(self.clock() - seen_at) >= defaults.MEMORY_CHECK_S:
            with translated():
                now = memory(self._redis.info("memory"), self.max_memory_mb)
            reserve = max(now.limit * defaults.MEMORY_RESERVE_PERCENT / 100,
                          defaults.MEMORY_RESERVE_MIN_MB * 1024 * 1024)
            ok = not now.limit or now.used < now.limit - reserve
            self._room = (self.clock(), ok)
        if not ok:
            raise StoreFull()

    def acknowledge(self, *, wrote: bool) -> None:
        """Wait until this thread's last write is on disk (ack "fsync": WAITAOF) or on a
        replica ("replica": WAIT), or raise NotAcknowledged; "memory" returns at once.

        A duplicate promises as much as a new event: its first delivery may still be waiting
        for the disk or the replica (or have failed to get there). WAIT counts this
        connection's own last write, so where the script wrote nothing (all duplicates) one
        small write goes first, in the same round trip: it comes after the earlier write the
        script saw, and a replica or the disk that has it has that one too."""
        if self.ack == "memory":
            return
        timeout = self.ack_timeout_ms
        wait = ("WAITAOF", 1, 0, timeout) if self.ack == "fsync" else ("WAIT", 1, timeout)
        mark = [] if wrote else [("SET", self.keys.ack_mark, now_ms(self.clock))]
        try:
            answers = self._ingest.confirm([*mark, wait], timeout_s=self._wait_s())
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError) as exc:
            raise self._short(f"the wait failed ({type(exc).__name__})") from exc
        for answer in answers[:-1]:
            if isinstance(answer, redis.RedisError):
                raise answer
        if isinstance(answers[-1], redis.exceptions.ResponseError):  # WAITAOF, appendonly off
            raise self._short(f"Redis refused the wait ({str(answers[-1])[:120]})")
        if int(answers[-1][0] if self.ack == "fsync" else answers[-1]) < 1:
            raise self._short(f"not {self._where} within {timeout} ms")

    @property
    def _where(self) -> str:
        return "on Redis's disk" if self.ack == "fsync" else "on a replica"

    def _short(self, why: str) -> NotAcknowledged:
        """The 503 of a wait that fell short: the event is kept, and a resend waits again."""
        return NotAcknowledged(f"the event is stored but {why} (server.ack = \"{self.ack}\"); "
                               f"it is kept, and a resend is answered 2xx once it is "
                               f"{self._where}")

    def _wait_s(self) -> float:
        return self.ack_timeout_ms / 1000 + defaults.REDIS_SOCKET_TIMEOUT_S

    def compact(self, *, retention_ms: int, dedup_ttl_s: int,
                limit: int = defaults.COMPACT_BATCH) -> int:
        """Shrink up to `limit` leads terminal (delivered, test) for `retention_ms` to their
        tombstones, kept till their record's TTL ran out (`dedup_ttl_s`, the config's, for a
        record without one); how many were taken from the queue (0: none is due)."""
        k = self.keys
        return int(self._compact(
            keys=[k.compact, k.tombstones],
            args=[now_ms(self.clock) - retention_ms, limit, k.event(""), k.attempts(""),
                  now_ms(self.clock), dedup_ttl_s * 1000]))

    # -- the console's index --------------------------------------------------------------
    def add_contacts(self, events: list[dict[str, str]], at_ms: int) -> None:
        """Contacts learnt after intake (an enrichment's leads) in the contact search."""
        if self.index and events:
            self.index.add_contacts(self._redis, events, at_ms)

    def search_contacts(self, digests: list[str], days: list[int]) -> Iterator[list[str]]:
        """The indexed events with one of these contacts, a day at a time (Index.search)."""
        if self.index:
            yield from self.index.search(self._redis, digests, days)

    def left_out(self, digests: list[str], days: list[int]) -> dict[int, int]:
        """Per day, the contacts' events past the index's daily limit (Index.left_out)."""
        return self.index.left_out(self._redis, digests, days) if self.index else {}

    def note_attempt(self, ids: Iterable[str], entry: dict[str, Any]) -> None:
        """A MEGA call (or a replay) on each event's timeline (Index.attempt)."""
        if self.index:
            self.index.attempt(self._redis, ids, entry)

    def attempts(self, event_id: str) -> list[dict[str, Any]]:
        """The event's last MEGA calls, oldest first (Index.attempts)."""
        return self.index.attempts(self._redis, event_id) if self.index else []

    # -- leases --------------------------------------------------------------------------
    def claim(self, token: str, *, lease_s: float, limit: int) -> list[str]:
        """Lease the customers whose flush is due (and those whose flush died)."""
        k = self.keys
        got = self._claim(keys=[k.due, k.leases, k.owners],
                          args=[now_ms(self.clock), int(lease_s * 1000), limit, token])
        return [c.decode() for c in got]

    def postpone(self, customer: str, until_ms: int) -> None:
        """The customer's flush is due again at `until_ms`, not before."""
        self._redis.zadd(self.keys.due, {customer: until_ms})

    def lease(self, customer: str, token: str) -> Lease:
        """The delivery role: a flush's fenced writes for one customer under its token."""
        return Lease(self._redis, self.keys, customer, token, clock=self.clock)
