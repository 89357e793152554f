"""The overview (customers and routes, live) and one event's timeline."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from gateway.config import Config
from gateway.logs import mask
from gateway.store.route_status import health_label, reconcile_facts, routes_report
from gateway.store.store import Store, now_ms
from gateway.web.console.read import REJECTED

REPLAY_RULE = ("each goes out under its original idempotency key while its body is unchanged (MEGA "
               "answers with what it stored if it had committed), under a new key after a "
               "config change altered the body")
KNOWN = {"pending", "in_flight", "held", "held_routes", "delivered", "dead", "state", "reason",
         "last_error", "next_attempt_ms"}


def customers(store: Store, config: Config) -> list[dict[str, Any]]:
    """Per customer: state, queues, last 24 h, oldest pending lead, last error, rate limit."""
    day = store.metrics.window_totals(3600, 86_400)
    counts: dict[tuple[str, str], float] = defaultdict(float)
    for name, labels, value in day:
        if name in ("leadgate_leads_delivered", "leadgate_leads_dead"):
            counts[(labels.get("customer", ""), name)] += value
    now = now_ms(store.clock)
    rows = []
    for name in sorted(config.customers):
        summary = store.customer_summary(name)
        state = store.customer_state(name)
        rows.append({
            "name": name, **summary,
            "delivered_24h": int(counts[(name, "leadgate_leads_delivered")]),
            "dead_24h": int(counts[(name, "leadgate_leads_dead")]),
            "oldest_pending_s": _oldest_pending_s(store, name, now),
            "last_error": mask(summary.get("last_error") or ""),
            "rate": _rate(state, now),
            "extra": {k: v for k, v in summary.items() if k not in KNOWN},
        })
    return rows


def _oldest_pending_s(store: Store, customer: str, now: int) -> float | None:
    received = store.oldest_pending_ms(customer)
    return max(0.0, (now - received) / 1000) if received else None


def _rate(state: dict[str, str], now: int) -> list[str]:
    """MEGA's rate limit as the last answers left it: calls remaining per endpoint."""
    out = []
    for endpoint in ("single", "bulk"):
        remaining = state.get(f"rl:{endpoint}:remaining")
        if remaining is None:
            continue
        reset_s = max(0, (int(state.get(f"rl:{endpoint}:reset_at", "0")) - now) // 1000)
        out.append(f"{endpoint}: {remaining} left, resets in {reset_s} s")
    return out


def routes(store: Store, config: Config) -> list[dict[str, Any]]:
    """Per route: webhooks accepted and rejected in the last hour, and its health if known."""
    hour = store.metrics.window_totals(300, 3600)
    counts: dict[tuple[str, str], float] = defaultdict(float)
    for name, labels, value in hour:
        if name == "leadgate_webhooks":
            outcome = labels.get("outcome", "")
            kind = "rejected" if outcome in REJECTED else outcome
            counts[(labels.get("route", ""), kind)] += value
    report = routes_report(config, store)          # Meta, Google: reconciliation, health
    return [{"name": name, "customer": route.customer, "source": route.source,
             **{kind: int(counts[(name, kind)])
                for kind in ("accepted", "duplicate", "ignored", "rejected")},
             "health": _health(report[name])}
            for name, route in sorted(config.routes.items())]


def _health(report: dict[str, Any]) -> dict[str, str]:
    """A listing route's (Meta, Google) source health and reconciliation, one fact a line;
    nothing for other routes."""
    if "reconcile" not in report:
        return {}
    return {"source": health_label(report.get("health")),
            **reconcile_facts(report["reconcile"])}


def counts(record: dict[str, str], attempts: list[dict[str, Any]]) -> dict[str, int]:
    """The event's MEGA calls (its counter, or the timeline's if that shows more: a record
    from before the counter), those the timeline shows, and its failed attempts."""
    shown = sum(1 for entry in attempts if entry.get("kind") == "mega")
    return {"mega_calls": max(int(record.get("mega_calls") or 0), shown), "shown": shown,
            "failed_attempts": int(record.get("attempts") or 0)}


def timeline(record: dict[str, str], attempts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Received; each MEGA call with its answer; replays; the outcome or the dead letter."""
    items = [{"at": int(record.get("received_at") or 0), "what": "received",
              "detail": f"{record.get('source', '')} via {record.get('route', '')}"}]
    for entry in attempts:
        if entry.get("kind") == "replay":
            items.append({"at": entry["at"], "what": "replayed", "detail": entry.get("note", "")})
            continue
        detail = f"{entry.get('endpoint')} call, key {entry.get('key')}: MEGA {entry.get('status')}"
        if entry.get("error"):
            detail += f" ({mask(entry['error'])})"
        items.append({"at": entry["at"], "what": "attempt", "detail": detail,
                      "ok": entry.get("outcome") == "ok"})
    items.append(_outcome(record))
    return [item for item in items if item]


def _outcome(record: dict[str, str]) -> dict[str, Any]:
    at = int(record.get("finished_at") or 0)
    status = record.get("status", "")
    if status == "delivered":
        detail = (f"{record.get('outcome', '')} as lead {record.get('lead_id') or '?'}"
                  + (f", matched by {record['matched_by']}" if record.get("matched_by") else ""))
        return {"at": at, "what": "delivered", "detail": detail, "ok": True}
    if status == "dead":
        detail = f"{record.get('dead_reason', '')}: {mask(record.get('error', ''))}"
        if record.get("mega_status"):
            detail += f" (MEGA {record['mega_status']})"
        return {"at": at, "what": "dead letter", "detail": detail}
    detail = mask(record.get("last_error", "")) if record.get("last_error") else ""
    return {"at": 0, "what": status.replace("_", " "), "detail": detail}


def replay_note(store: Store, config: Config, record: dict[str, str]) -> str:
    """Under which idempotency key a replay goes, by the delivery core's replay rules."""
    customer = config.customers.get(record.get("customer", ""))
    plan = store.plan_replay(record["id"], customer) if customer else None
    if plan is None:
        return "not replayable: its customer is no longer configured"
    key = plan.key or "a new key, frozen when the worker sends it"
    others = len(plan.ids) - 1
    company = f", together with {others} other dead letter(s) of its request" if others else ""
    return f"{key}: {plan.reason}{company}" + (f" (warning: {plan.warning})" if plan.warning
                                               else "")

