"""Each event's terminal record from MEGA's answer, or from a failure."""

from __future__ import annotations

import json

from gateway.event import Event, Outcome
from gateway.records import Batch, Outcomes
from workers import policy
from workers.mega import MegaResponse


def outcomes(batch: Batch, events: list[Event], response: MegaResponse) -> Outcomes:
    """Each event's terminal record from MEGA's answer."""
    if batch.endpoint == "single":
        (event,) = events
        lead = response.body.get("lead") or {}
        dropped = policy.single_drops(event.lead or "{}")
        warning = f"not sent by a single create: {', '.join(dropped)}" if dropped else None
        return {event.id: Outcome("delivered", endpoint="single", outcome="created",
                                  lead_id=str(lead.get("id", "")), delivery_warning=warning,
                                  mega_status=str(response.status))}
    rows = {r.get("row_ref"): r for r in response.body.get("results", [])}
    return {eid: bulk_row(rows.get(eid), response.status) for eid in batch.ids}


def bulk_row(row: dict[str, object] | None, status: int) -> Outcome:
    """One event's record from its row of a bulk answer."""
    if row is None:
        return Outcome("dead", dead_reason="rejected", endpoint="bulk",
                       error="MEGA's answer has no result for this row")
    if row.get("status") == "failed":
        errors = row.get("errors")
        return Outcome("dead", dead_reason="rejected", endpoint="bulk",
                       error="; ".join(map(str, errors)) if isinstance(errors, list)
                       else "failed", mega_status=str(status))
    return Outcome("delivered", endpoint="bulk", outcome=str(row.get("status")),
                   lead_id=str(row.get("lead_id") or ""),
                   matched_by=str(row.get("matched_by") or ""),
                   ignored_custom_fields=json.dumps(row.get("ignored_custom_fields") or []),
                   mega_status=str(status))


def dead(ids: list[str], reason: str, exc: Exception | None) -> Outcomes:
    """Dead letters with the reason and what MEGA said."""
    status, body = getattr(exc, "status", None), getattr(exc, "body", None)
    text = json.dumps(body)[:2000] if body is not None else ""
    return {eid: Outcome("dead", dead_reason=reason, error=str(exc or reason),
                         mega_status=str(status or ""), mega_body=text) for eid in ids}


def unavailable(gone: dict[str, str]) -> Outcomes:
    """Leads a source cannot give (deleted at Meta): dead letters with the source's word."""
    return {eid: Outcome("dead", dead_reason="lead_unavailable", error=why)
            for eid, why in gone.items()}
