"""An import's record in Redis: counts, its rows' events, failed rows, and the report."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from gateway import defaults
from gateway.config import Customer, Route
from gateway.imports.rows import Prepared
from gateway.ingest import ingest
from gateway.mega.contract import ROW_STATUSES
from gateway.store.store import Store, now_ms

COUNTS = ("rows", "queued", *ROW_STATUSES, "duplicates_in_file", "already_imported", "warnings",
          "gone")
ROW_NEW, ROW_SAME_ID, ROW_SAME_CONTACT = 0, 1, 2
STATUSES = ("reading", "delivering", "done", "previewing", "preview", "failed")   # an import's
READING = ("reading", "previewing")          # the statuses a live reader keeps its heartbeat in
STOPPED = ("the web process stopped while reading; upload the same file again (rows already "
           "stored are skipped)")


class Imports:
    """Imports: their records' meaning (counts, reports, heartbeats) over store.imports."""

    def __init__(self, store: Store, *, ttl_s: int):
        self.store, self.records, self.ttl_s = store, store.imports, ttl_s

    def create(self, import_id: str, info: dict[str, str]) -> None:
        """The record of a new import, with its options; it expires with the events."""
        started = now_ms(self.store.clock)
        self.records.create(import_id, {
            **info, "status": "reading", "started_at": started, "heartbeat": started,
            **dict.fromkeys(COUNTS, 0)}, started, self.ttl_s)

    def add(self, import_id: str, customer: Customer, chunk: list[Prepared], *,
            route: Route) -> None:
        """Store one chunk of rows: repeats within the file are counted, new rows ingested
        through the one ingest path."""
        records = [p.record for p in chunk if p.record is not None]
        contacts = [p.contacts for p in chunk if p.record is not None]
        args = [a for r, c in zip(records, contacts, strict=True)
                for a in (r["id"], *(c + ["", ""])[:2])]
        seen = self.records.rows_seen(import_id, args)
        fresh = [r for r, flag in zip(records, seen, strict=True) if flag == ROW_NEW]
        done = ingest(self.store, route, [None] * len(fresh), self.store.clock(),
                      records=fresh, customer=customer, ttl_s=self.ttl_s)
        queued = [r["id"] for r, known in zip(fresh, done.known, strict=True) if not known]
        errors = [json.dumps({"row": p.number, "reason": p.reason}) for p in chunk
                  if p.record is None]  # the first IMPORT_ERRORS_KEPT are kept; "failed" counts all
        self.records.add_chunk(import_id, queued, errors, {
            "rows": len(chunk), "queued": len(queued), "failed": len(errors),
            "warnings": sum(p.warned for p in chunk),
            "duplicates_in_file": sum(1 for f in seen if f != ROW_NEW),
            "already_imported": done.duplicates}, self.ttl_s)

    def preview(self, import_id: str, report: dict[str, Any]) -> None:
        """An API dry run's report so far (its lists bounded), for GET /v1/imports/<id>; it
        expires after IMPORT_PREVIEW_TTL_S."""
        self.records.save_report(import_id, report, now_ms(self.store.clock),
                                 defaults.IMPORT_PREVIEW_TTL_S)

    def failed(self, import_id: str, message: str) -> None:
        """An upload that stopped on an error: the import (or dry run) says why."""
        self.records.update(import_id, {"status": "failed", "error": message[:500]})

    def beat(self, import_id: str) -> None:
        """Note that the upload's reader is alive (the record is not brought back if gone)."""
        self.records.beat(import_id, now_ms(self.store.clock))

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
        self.records.read_done(import_id)

    def count(self, import_id: str, name: str) -> int:
        """One of the import's counts."""
        return self.records.count(import_id, name)

    def known(self, ids: list[str]) -> list[bool]:
        """Which of these events are stored already, whole or compacted (read only: a dry run
        writes nothing)."""
        return self.store.stored(ids)

    def tally(self, import_id: str) -> int:
        """Count the rows that became terminal since the last look; how many are still pending."""
        return self.records.tally(import_id, now_ms(self.store.clock), self.ttl_s)

    def report(self, import_id: str, *, errors: int = defaults.IMPORT_ERRORS_SHOWN
               ) -> dict[str, Any] | None:
        """The import's report (after a tally), or None when there is no such import."""
        data = self.records.fields(import_id)
        if not data:
            return None
        self._stopped(import_id, data)
        pending = self.tally(import_id)
        data = self.records.fields(import_id)
        shown = self.records.errors(import_id, errors)
        unknown = self.records.unknown_fields(import_id)
        if "report" in data:
            return {**json.loads(data["report"]), "import": import_id}
        counts = {name: int(data.pop(name, 0)) for name in COUNTS}
        return {"import": import_id, "dry_run": False, **data, "pending": pending,
                "counts": counts, "errors": shown, "unknown_custom_fields": unknown}

    def failed_rows(self, import_id: str) -> dict[int, str]:
        """The failed rows kept (the first IMPORT_ERRORS_KEPT): row number -> reason."""
        return {e["row"]: e["reason"] for e in self.records.errors(import_id)}
