"""Running an import: the real one (rows stored as events, delivered by the pipeline) and the
dry run (MEGA's preview, nothing stored), both reading the file as a stream."""

from __future__ import annotations

import csv
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gateway import defaults
from gateway.imports.csvfile import Row, Source, count_rows, table
from gateway.imports.preview import Previewer
from gateway.imports.record import COUNTS, ROW_NEW, ROW_SAME_CONTACT, ROW_SAME_ID, Imports
from gateway.imports.rows import Plan, Prepared, check_columns, prepare
from gateway.mega.contract import MAX_BULK_ROWS
from gateway.store.store import now_ms

Progress = Callable[[int, int], None]     # (rows just done, rows in all)


def new_import_id() -> str:
    """A new import's id: imp_ and 16 random hex digits."""
    return "imp_" + secrets.token_hex(8)


def chunks(plan: Plan, rows: Iterator[Row], clock: Callable[[], float] = time.time
           ) -> Iterator[list[Prepared]]:
    """The rows prepared, IMPORT_CHUNK_ROWS at a time."""
    chunk: list[Prepared] = []
    for row in rows:
        chunk.append(prepare(plan, row, now_ms(clock)))
        if len(chunk) >= defaults.IMPORT_CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def start(imports: Imports, plan: Plan, source: Source, *, name: str = "",
          progress: Progress | None = None) -> int:
    """Store every row as an event (a broken file stores nothing); the number of rows read."""
    total = begin(imports, plan, source, name=name)
    with imports.beating(plan.import_id):
        store(imports, plan, source, total, progress=progress)
    return total


def check(plan: Plan, source: Source) -> int:
    """The file's rows, counted (at most IMPORT_MAX_ROWS) and their columns checked against
    the plan: a file that fails here has stored nothing."""
    total = count_rows(source)
    with table(source) as t:
        check_columns(plan, t.columns)
    return total


def begin(imports: Imports, plan: Plan, source: Source, *, name: str = "") -> int:
    """Check the file and create the import's record; the number of rows."""
    total = check(plan, source)
    imports.create(plan.import_id, {
        "customer": plan.customer.name, "route": plan.route.name, "file": name,
        "on_duplicate": plan.on_duplicate, "id_column": plan.id_column or ""})
    return total


def store(imports: Imports, plan: Plan, source: Source, total: int, *,
          progress: Progress | None = None) -> None:
    """Store the rows of a begun import as events, a chunk at a time."""
    with table(source) as t:
        for chunk in chunks(plan, t.rows, imports.store.clock):
            imports.add(plan.import_id, plan.customer, chunk, route=plan.route)
            if progress:
                progress(len(chunk), total)
    imports.read_done(plan.import_id)


def wait(imports: Imports, import_id: str, *, progress: Progress | None = None,
         stalled: Callable[[], None] | None = None,
         sleep: Callable[[float], None] = time.sleep,
         clock: Callable[[], float] = time.monotonic) -> None:
    """Until every queued row is terminal; progress gets the rows finished since last told,
    stalled is called once when none has finished for IMPORT_STALL_S (no worker running?)."""
    queued = imports.count(import_id, "queued")
    done, moved = 0, clock()
    while True:
        pending = imports.tally(import_id)
        if queued - pending > done:
            if progress:
                progress(queued - pending - done, queued)
            done, moved = queued - pending, clock()
        if not pending:
            return
        if stalled and clock() - moved > defaults.IMPORT_STALL_S:
            stalled()
            stalled = None
        sleep(defaults.IMPORT_POLL_S)


class DryRun:
    """MEGA's preview of an import, counted as the real import counts; nothing is stored."""

    def __init__(self, plan: Plan, previewer: Previewer, imports: Imports | None = None, *,
                 on_row: Callable[[dict[str, Any]], None] | None = None,
                 rows_told: int | None = None):
        """on_row gets each row's verdict in order: all of them, or the first rows_told."""
        self.plan, self.previewer, self.imports, self.on_row = plan, previewer, imports, on_row
        self.rows_left = rows_told
        self.counts: Counter[str] = Counter()
        self.errors: list[dict[str, Any]] = []      # the first IMPORT_ERRORS_KEPT
        self.unknown: set[str] = set()
        self._ids: set[int] = set()             # hashes: a row costs ints, not its strings
        self._contacts: set[int] = set()
        self._waiting: list[Prepared] = []
        self._told: list[dict[str, Any]] = []

    def run(self, source: Source, progress: Progress | None = None) -> dict[str, Any]:
        """Read the file, send the rows to preview, and report."""
        total = check(self.plan, source)
        with table(source) as t:
            for chunk in chunks(self.plan, t.rows):
                self.take(chunk)
                if progress:
                    progress(len(chunk), total)
        self.send()
        return self.report()

    def take(self, chunk: list[Prepared]) -> None:
        """Count a chunk's rows; the new valid ones wait to be previewed, MAX_BULK_ROWS a call."""
        self.counts["rows"] += len(chunk)
        fresh = []
        for p in chunk:
            if p.record is None:
                self.fail(p.number, p.reason)
                self.tell(p.number, "invalid", [p.reason])
                continue
            self.counts["warnings"] += p.warned
            if self.seen(p) != ROW_NEW:
                self.counts["duplicates_in_file"] += 1
                self.tell(p.number, "duplicate")
            else:
                fresh.append(p)
        known = self.imports.known([p.record["id"] for p in fresh]) if (  # type: ignore[index]
            self.imports and fresh) else [False] * len(fresh)
        self.counts["already_imported"] += sum(known)
        for p, old in zip(fresh, known, strict=True):
            if old:
                self.tell(p.number, "already_imported")
            else:
                self._waiting.append(p)
        while len(self._waiting) >= MAX_BULK_ROWS:
            self.send()

    def seen(self, p: Prepared) -> int:
        """As the real import's IMPORT_ROWS script: a repeated id, or a repeated contact."""
        eid = hash(p.record["id"])  # type: ignore[index]
        contacts = [hash(c) for c in p.contacts]
        if eid in self._ids:
            return ROW_SAME_ID
        if any(c in self._contacts for c in contacts):
            return ROW_SAME_CONTACT
        self._ids.add(eid)
        self._contacts.update(contacts)
        return ROW_NEW

    def send(self) -> None:
        """Preview the next MAX_BULK_ROWS waiting rows; tell the rows settled so far, in order."""
        batch, self._waiting = self._waiting[:MAX_BULK_ROWS], self._waiting[MAX_BULK_ROWS:]
        settled, self._told = self._told, []
        if batch:
            self.counts["queued"] += len(batch)
            results, unknown = self.previewer.preview(batch)
            self.unknown.update(unknown)
            for result in results:
                if result["status"] == "failed":
                    self.fail(result["row"], "; ".join(result["errors"]) or "failed")
                else:
                    self.counts[result["status"]] += 1
            settled += results
        if self.on_row:
            for result in sorted(settled, key=lambda r: int(r["row"]))[:self.rows_left]:
                self.on_row(result)
            if self.rows_left is not None:
                self.rows_left = max(0, self.rows_left - len(settled))

    def tell(self, number: int, status: str, errors: list[str] | None = None) -> None:
        """A row settled here, not by MEGA: not sent, and why (told with the next preview;
        rows past the first rows_told waiting are never told, so none is kept)."""
        if self.on_row and (self.rows_left is None or len(self._told) < self.rows_left):
            self._told.append({"row": number, "status": status, "matched_by": None,
                               "errors": errors or [], "ignored_custom_fields": []})

    def fail(self, number: int, reason: str) -> None:
        """Count a failed row, keeping its reason while few are kept."""
        self.counts["failed"] += 1
        if len(self.errors) < defaults.IMPORT_ERRORS_KEPT:
            self.errors.append({"row": number, "reason": reason})

    def report(self) -> dict[str, Any]:
        """The dry run's report: what an import would send, and what it would refuse."""
        return {"import": None, "dry_run": True, "status": "preview",
                "customer": self.plan.customer.name, "on_duplicate": self.plan.on_duplicate,
                "mega_calls": self.previewer.calls, "pending": 0,
                "counts": {name: self.counts[name] for name in COUNTS},
                "errors": self.errors[:defaults.IMPORT_ERRORS_SHOWN],
                "unknown_custom_fields": sorted(self.unknown)}


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")      # what a spreadsheet reads as a formula


def spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, behind a leading `'` (OWASP's advice on
    CSV injection); any other cell as it is."""
    return "'" + cell if cell.startswith(FORMULA_START) else cell


def write_failed_rows(source: Source, out: str | Path, reasons: dict[int, str], *,
                      raw: bool = False) -> int:
    """The failed rows as read, after their row number and reason, in a CSV like the input;
    formula-like cells quoted unless raw."""
    cell = (lambda text: text) if raw else spreadsheet_safe
    written = 0
    with table(source) as t, open(out, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, delimiter=t.delimiter)
        extra = ["row", "reason"]
        if set(extra) & set(t.columns):
            extra = ["import_row", "import_reason"]
        writer.writerow([*extra, *map(cell, t.columns)])
        for row in t.rows:
            if row.number in reasons:
                writer.writerow([row.number, cell(reasons[row.number]), *map(cell, row.fields)])
                written += 1
    return written
