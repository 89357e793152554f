"""An import's report and MEGA's per-row preview as the CLI prints them."""

from __future__ import annotations

from typing import Any

VERBS = {"created": "would create", "updated": "would update", "skipped": "would skip",
         "failed": "would fail", "invalid": "not sent",
         "duplicate": "not sent, its email or phone (or id) is on an earlier row",
         "already_imported": "not sent, already imported"}
ERRORS_PRINTED = 10


def preview_line(result: dict[str, Any]) -> str:
    """One row of MEGA's dry-run answer."""
    parts = [f"row {result['row']:>6}  {VERBS.get(result['status'], result['status'])}"]
    if result.get("matched_by"):
        parts.append(f"matched by {result['matched_by']}")
    if result.get("errors"):
        parts.append("; ".join(result["errors"]))
    if result.get("ignored_custom_fields"):
        parts.append("unknown custom fields: " + ", ".join(result["ignored_custom_fields"]))
    return "  ".join(parts)


def report_lines(report: dict[str, Any]) -> list[str]:
    """The counts, the first failed rows, and what is still on its way."""
    c = report["counts"]
    if report["dry_run"]:
        head = (f"dry run for {report['customer']}: nothing stored, nothing created "
                f"({report['mega_calls']} MEGA dry-run call(s))")
    else:
        head = f"import {report['import']} for {report['customer']}: {report['status']}"
    lines = [head,
             f"  rows {c['rows']}, sent to MEGA {c['queued']}",
             f"  created {c['created']}  updated {c['updated']}  skipped {c['skipped']}  "
             f"failed {c['failed']}",
             f"  duplicates within the file {c['duplicates_in_file']}  "
             f"already imported {c['already_imported']}  with warnings {c['warnings']}"]
    if report.get("pending"):
        lines.append(f"  still on their way: {report['pending']} "
                     f"(GET /v1/imports/{report['import']})")
    if report.get("unknown_custom_fields"):
        lines.append("  unknown custom fields (ignored by MEGA): "
                     + ", ".join(report["unknown_custom_fields"]))
    for error in report["errors"][:ERRORS_PRINTED]:
        lines.append(f"  row {error['row']}: {error['reason']}")
    if c["failed"] > ERRORS_PRINTED:
        lines.append(f"  ... {c['failed'] - ERRORS_PRINTED} more failed row(s): --failed-rows")
    return lines
