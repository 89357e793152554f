"""CSV rows into event records, by the intake's own recognition, normalization and validation."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass, field
from typing import Any

from gateway.config import Config, Customer, Route
from gateway.domain.event import new_event
from gateway.domain.leads import check_field_target, lead_record, normalize
from gateway.domain.sources import Draft
from gateway.domain.sources.recognize import canonical, recognize
from gateway.domain.sources.settings import RouteSettings
from gateway.errors import BadRequest, NoUsableLead
from gateway.imports.csvfile import Row
from gateway.mega.contract import CONTACT_FIELDS, LEAD_FIELDS, ON_DUPLICATE

SOURCE = "import"                       # the event key's source, and the event's `source`
LEAD_DEFAULTS = {"source_type": "import"}
DIRECT = {name for name in LEAD_FIELDS if name not in (*CONTACT_FIELDS, "custom_fields")}


class ImportOptionError(BadRequest):
    """An option of the import cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Plan:
    """How one import turns rows into events for one customer."""

    import_id: str
    customer: Customer
    route: Route
    on_duplicate: str
    id_column: str | None = None
    named_columns: tuple[str, ...] = ()       # columns the options name: the file must have them


@dataclass
class Prepared:
    """One row, ready: its event record, or why it cannot be imported."""

    number: int
    record: dict[str, str] | None = None
    reason: str = ""
    contacts: list[str] = field(default_factory=list)
    warned: bool = False


def make_plan(config: Config, import_id: str, *, customer: str, route: str | None = None,
              maps: dict[str, str] | None = None, id_column: str | None = None,
              on_duplicate: str | None = None) -> Plan:
    """Check the options against the config; the route's [lead] and [fields] apply when given."""
    if customer not in config.customers:
        raise ImportOptionError(f"unknown customer '{customer}' "
                                f"(one of {', '.join(sorted(config.customers))})")
    spec = config.routes.get(route) if route else None
    if route and (spec is None or spec.customer != customer):
        raise ImportOptionError(f"no route '{route}' of customer '{customer}'")
    for column, target in (maps or {}).items():
        if problem := check_field_target(target):
            raise ImportOptionError(f"--map {column}={target}: {problem}")
    if on_duplicate not in (None, *ON_DUPLICATE):
        raise ImportOptionError(f"on_duplicate must be one of {', '.join(ON_DUPLICATE)}")
    base = spec or Route(name=SOURCE, customer=customer, source=SOURCE,
                         settings=RouteSettings())
    merged = Route(name=base.name, customer=customer, source=SOURCE, lead=base.lead,
                   fields={**base.fields, **(maps or {})}, settings=base.settings)
    chosen = config.customers[customer]
    named = (*(maps or {}), *([id_column] if id_column else []))
    return Plan(import_id, chosen, merged, on_duplicate or chosen.on_duplicate, id_column, named)


def check_columns(plan: Plan, columns: list[str]) -> None:
    """The columns the options name must be in the file."""
    missing = [c for c in plan.named_columns if c not in columns]
    if missing:
        raise ImportOptionError(f"no column '{missing[0]}' in the file "
                                f"(columns: {', '.join(c for c in columns if c)})")


def draft(values: dict[str, str]) -> Draft:
    """The row as a draft: contacts recognised as the sources do, MEGA's own columns taken."""
    lead, used = recognize(values)
    for column, value in values.items():
        name = canonical(column)
        if name in DIRECT and value.strip():
            lead[name] = value
            used.add(column)
    return Draft(event_id="", lead=lead, fields=values, used=used)


def prepare(plan: Plan, row: Row, now_ms: int) -> Prepared:
    """One row's event record (normalized and validated as the intake does), or its reason."""
    if row.extra:
        return Prepared(row.number, reason=f"{row.extra} more field(s) than the header has")
    found = draft(row.values)
    try:
        stored = lead_record(plan.route, LEAD_DEFAULTS, found)
    except NoUsableLead as exc:
        return Prepared(row.number, reason=_why(plan, found, exc))
    provider_id = _provider_id(plan, row, stored["lead"])
    if not provider_id:
        return Prepared(row.number, reason=f"no value in the id column '{plan.id_column}'")
    fields: dict[str, Any] = {**stored, "bulk_only": "1", "on_duplicate": plan.on_duplicate,
                              "import_row": str(row.number), "import": plan.import_id}
    record = new_event(customer=plan.customer.name, route=plan.route.name, source=SOURCE,
                       provider_id=provider_id, received_at_ms=now_ms, **fields).to_fields()
    return Prepared(row.number, record, contacts=contact_keys(plan.import_id, stored["lead"]),
                    warned=stored["warnings"] != "[]")


def contact_keys(secret: str, lead_json: str) -> list[str]:
    """MEGA's match keys of a lead (email; phone's last 10 digits), as keyed digests."""
    lead = json.loads(lead_json)
    raw = []
    if lead.get("contact_email"):
        raw.append("e:" + lead["contact_email"])
    if lead.get("contact_phone"):
        raw.append("p:" + "".join(c for c in lead["contact_phone"] if c.isdigit())[-10:])
    return [hmac.new(secret.encode(), r.encode(), hashlib.sha256).hexdigest()[:24] for r in raw]


def _provider_id(plan: Plan, row: Row, lead_json: str) -> str:
    if plan.id_column:
        return row.values.get(plan.id_column, "").strip()
    return "row-" + hashlib.sha256(lead_json.encode()).hexdigest()[:32]


def _why(plan: Plan, found: Draft, exc: NoUsableLead) -> str:
    """The validation message, with what was dropped on the way (no values in it)."""
    raw: dict[str, Any] = {**found.lead, **{target: found.fields.get(column)
                                           for column, target in plan.route.fields.items()
                                           if "." not in target}}
    _, warnings = normalize(raw, plan.route.settings.default_region)
    return "; ".join([exc.message, *warnings])
