"""An import's record in Redis: counts, its rows' events, failed rows, and the report."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gateway import defaults
from gateway.config import Customer
from gateway.imports.rows import Prepared
from gateway.mega.contract import ROW_STATUSES
from gateway.store.scripts import register
from gateway.store.store import Store, now_ms, translated

COUNTS = ("rows", "queued", *ROW_STATUSES, "duplicates_in_file", "already_imported", "warnings",
          "gone")
ROW_NEW, ROW_SAME_ID, ROW_SAME_CONTACT = 0, 1, 2
STATUSES = ("reading", "delivering", "done", "previewing", "preview", "failed")   # an import's
READING = ("reading", "previewing")          # the statuses a live reader keeps its heartbeat in
STOPPED = ("the web process stopped while reading; upload the same file again (rows already "
           "stored are skipped)")


class Imports:
    """Import records, over the store's Redis and keys."""

    def __init__(self, store: Store, *, ttl_s: int):
        self.store, self.redis, self.keys, self.ttl_s = store, store.redis, store.keys, ttl_s
        self._rows = register(self.redis, "import_rows")
        self._tally = register(self.redis, "import_tally")
        self._set_live = register(self.redis, "session_set")    # a field of a live hash

    def create(self, import_id: str, info: dict[str, str]) -> None:
        """The record of a new import, with its options; it expires with the events."""
        started = now_ms(self.store.clock)
        with translated():
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(self.keys.import_(import_id), mapping={
                **info, "status": "reading", "started_at": started, "heartbeat": started,
                **dict.fromkeys(COUNTS, 0)})
            pipe.expire(self.keys.import_(import_id), self.ttl_s)
            pipe.zadd(self.keys.imports, {import_id: started})
            pipe.execute()

    def add(self, import_id: str, customer: Customer, chunk: list[Prepared]) -> None:
        """Store one chunk of rows: repeats within the file are counted, new rows ingested."""
        k, key = self.keys, self.keys.import_(import_id)
        records = [p.record for p in chunk if p.record is not None]
        contacts = [p.contacts for p in chunk if p.record is not None]
        args = [a for r, c in zip(records, contacts, strict=True)
                for a in (r["id"], *(c + ["", ""])[:2])]
        with translated():
            seen = self._rows(keys=[k.import_(import_id, "ids"), k.import_(import_id, "contacts")],
                              args=args) if args else []
        fresh = [r for r, flag in zip(records, seen, strict=True) if flag == ROW_NEW]
        added = self.store.ingest(customer, fresh, self.ttl_s) if fresh else []
        queued = [r["id"] for r, new in zip(fresh, added, strict=True) if new]
        pipe = self.redis.pipeline(transaction=True)
        if queued:
            pipe.sadd(k.import_(import_id, "pending"), *queued)
        errors = [json.dumps({"row": p.number, "reason": p.reason}) for p in chunk
                  if p.record is None]
        if errors:       # the first IMPORT_ERRORS_KEPT are kept; "failed" counts them all
            pipe.rpush(k.import_(import_id, "errors"), *errors)
            pipe.ltrim(k.import_(import_id, "errors"), 0, defaults.IMPORT_ERRORS_KEPT - 1)
        for name, n in (("rows", len(chunk)), ("queued", len(queued)),
                        ("failed", len(errors)), ("warnings", sum(p.warned for p in chunk)),
                        ("duplicates_in_file", sum(1 for f in seen if f != ROW_NEW)),
                        ("already_imported", len(added) - len(queued))):
            if n:
                pipe.hincrby(key, name, n)
        for part in ("ids", "contacts", "pending", "errors"):
            pipe.expire(k.import_(import_id, part), self.ttl_s)
        with translated():
            pipe.execute()

    def preview(self, import_id: str, report: dict[str, Any]) -> None:
        """An API dry run's report so far (its lists bounded), for GET /v1/imports/<id>; it
        expires after IMPORT_PREVIEW_TTL_S."""
        with translated():
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(self.keys.import_(import_id), mapping={
                "report": json.dumps(report), "heartbeat": now_ms(self.store.clock)})
            pipe.expire(self.keys.import_(import_id), defaults.IMPORT_PREVIEW_TTL_S)
            pipe.execute()

    def failed(self, import_id: str, message: str) -> None:
        """An upload that stopped on an error: the import (or dry run) says why."""
        with translated():
            self.redis.hset(self.keys.import_(import_id), mapping={
                "status": "failed", "error": message[:500]})

    def beat(self, import_id: str) -> None:
        """Note that the upload's reader is alive (the record is not brought back if gone)."""
        with translated():
            self._set_live(keys=[self.keys.import_(import_id)],
                           args=["heartbeat", now_ms(self.store.clock)])

    @contextmanager
    def beating(self, import_id: str) -> Iterator[None]:
        """A heartbeat every IMPORT_HEARTBEAT_S while the block reads the upload: a report
        whose heartbeat stops (its process died) is told as failed."""
        done = threading.Event()

        def loop() -> None:
            while not done.wait(defaults.IMPORT_HEARTBEAT_S):
                try:
                    self.beat(import_id)
                except Exception:          # Redis away: the reader finds out on its own
                    continue

        thread = threading.Thread(target=loop, name=f"leadgate-beat-{import_id}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            done.set()
            thread.join()

    def _stopped(self, import_id: str, data: dict[str, str]) -> bool:
        """A report still reading whose reader has not beaten for IMPORT_HEARTBEAT_STALE_S
        becomes `failed`, saying to upload the file again; True if it did."""
        report = json.loads(data["report"]) if "report" in data else None
        status = report.get("status") if report else data.get("status")
        beat = int(data.get("heartbeat") or data.get("started_at") or 0)
        stale_ms = int(defaults.IMPORT_HEARTBEAT_STALE_S * 1000)
        if status not in READING or not beat or now_ms(self.store.clock) - beat <= stale_ms:
            return False
        if report is not None:
            self.preview(import_id, {**report, "status": "failed", "error": STOPPED})
        else:
            self.failed(import_id, STOPPED)
        return True

    def read_done(self, import_id: str) -> None:
        """Every row is stored: the contacts are no longer needed; delivery is what remains."""
        with translated():
            self.redis.delete(self.keys.import_(import_id, "contacts"))
            self.redis.hset(self.keys.import_(import_id), "status", "delivering")

    def count(self, import_id: str, name: str) -> int:
        """One of the import's counts."""
        with translated():
            return int(self.redis.hget(self.keys.import_(import_id), name) or 0)

    def known(self, ids: list[str]) -> list[bool]:
        """Which of these events are stored already, whole or compacted (read only: a dry run
        writes nothing)."""
        return self.store.stored(ids)

    def tally(self, import_id: str) -> int:
        """Count the rows that became terminal since the last look; how many are still pending."""
        k, cursor, pending = self.keys, 0, 0
        keys = [k.import_(import_id), k.import_(import_id, "pending"),
                k.import_(import_id, "errors"), k.import_(import_id, "unknown"), k.tombstones]
        with translated():
            while True:
                cursor, pending = self._tally(keys=keys, args=[
                    k.event(""), cursor, 1000, now_ms(self.store.clock)])
                self.redis.ltrim(keys[2], 0, defaults.IMPORT_ERRORS_KEPT - 1)
                if int(cursor) == 0:
                    break
            if not pending and self.redis.hget(keys[0], "status") == b"delivering":
                self.redis.hset(keys[0], "status", "done")
                self.redis.expire(keys[3], self.ttl_s)
        return int(pending)

    def report(self, import_id: str, *, errors: int = defaults.IMPORT_ERRORS_SHOWN
               ) -> dict[str, Any] | None:
        """The import's report (after a tally), or None when there is no such import."""
        k = self.keys
        with translated():
            raw = self.redis.hgetall(k.import_(import_id))
            if not raw:
                return None
            self._stopped(import_id, {a.decode(): b.decode() for a, b in raw.items()})
            pending = self.tally(import_id)
            raw = self.redis.hgetall(k.import_(import_id))
            shown = self.redis.lrange(k.import_(import_id, "errors"), 0, errors - 1)
            unknown = self.redis.smembers(k.import_(import_id, "unknown"))
        data = {a.decode(): b.decode() for a, b in raw.items()}
        if "report" in data:
            return {**json.loads(data["report"]), "import": import_id}
        counts = {name: int(data.pop(name, 0)) for name in COUNTS}
        return {"import": import_id, "dry_run": False, **data, "pending": pending,
                "counts": counts, "errors": [json.loads(e) for e in shown],
                "unknown_custom_fields": sorted(u.decode() for u in unknown)}

    def failed_rows(self, import_id: str) -> dict[int, str]:
        """The failed rows kept (the first IMPORT_ERRORS_KEPT): row number -> reason."""
        with translated():
            raw = self.redis.lrange(self.keys.import_(import_id, "errors"), 0, -1)
        return {e["row"]: e["reason"] for e in map(json.loads, raw)}
