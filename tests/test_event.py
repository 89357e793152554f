"""The event type: one constructor for new events, and the field hash the store keeps."""

from __future__ import annotations

from typing import Any

from gateway.config import Config
from gateway.domain.event import Event, event_id, new_event
from gateway.domain.leads import draft_event
from gateway.domain.sources import SOURCES, Draft
from gateway.imports.csvfile import Row
from gateway.imports.rows import make_plan, prepare
from tests.conftest import build

BASE = ("id", "customer", "route", "source", "provider_id", "status", "received_at", "attempts",
        "replays")


def test_a_new_event_is_pending_with_no_attempt_and_keeps_its_key() -> None:
    event = new_event(customer="acme", route="web", source="generic", provider_id="e1",
                      received_at_ms=1_700_000_000_123, lead="{}")
    fields = event.to_fields()
    assert fields == {"id": event_id("acme", "generic", "e1"), "customer": "acme",
                      "route": "web", "source": "generic", "provider_id": "e1",
                      "status": "pending", "received_at": "1700000000123", "attempts": "0",
                      "replays": "0", "lead": "{}"}
    assert Event.from_fields(fields) == event
    assert new_event(customer="acme", route="web", source="generic", provider_id="e1",
                     received_at_ms=0, test=True).status == "test"


def test_intake_import_and_reconciliation_make_the_same_base_fields(
        config_dict: dict[str, Any], redis_server: Any) -> None:
    config: Config = build(config_dict, redis_server.url)
    route = next(iter(config.routes.values()))
    hooked = draft_event(route, SOURCES[route.source], Draft(
        event_id="x1", lead={"contact_name": "Ann", "contact_email": "ann@example.com"},
        fields={}, used=set()), 1.5).to_fields()
    plan = make_plan(config, "imp1", customer=route.customer)
    row = Row(2, {"name": "Ann", "email": "ann@example.com"}, ["Ann", "ann@example.com"])
    imported = prepare(plan, row, 1500).record
    assert imported is not None
    for record in (hooked, imported):
        assert list(record)[:len(BASE)] == list(BASE)
        assert (record["status"], record["received_at"], record["attempts"]) == \
            ("pending", "1500", "0")
