"""The exact request MEGA gets (gateway/domain/outbound.py): its endpoint, body bytes and
idempotency key, and which key a replay of dead letters uses."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from gateway.config import Customer
from gateway.domain.event import Event
from gateway.domain.outbound import (
    MAY_DUPLICATE,
    alike_prefix,
    bulk_only,
    endpoint_for,
    idempotency_key,
    replay_plan,
    request_body,
    single_drops,
)
from gateway.domain.records import SentRequest
from tests.conftest import ACME_ID, ACME_TOKEN

ACME = Customer("acme", ACME_ID, ACME_TOKEN)
HEX = "0123456789abcdef0123456789abcdef"


def event(n: int, lead: dict[str, object] | None = None, **extra: str) -> Event:
    return Event(f"evt_{HEX[:-1]}{n}", "acme", "acme-form", "generic", str(n), "dead", 1,
                 extra={"lead": json.dumps(lead or {"contact_name": f"Lead {n}"}), **extra})


@pytest.mark.parametrize(("delivery", "n", "imported", "endpoint"), [
    ("auto", 1, False, "single"), ("auto", 2, False, "bulk"), ("auto", 1, True, "bulk"),
    ("bulk", 1, False, "bulk"), ("single", 1, False, "single"), ("single", 1, True, "bulk")])
def test_the_endpoint_follows_the_customers_delivery(delivery: str, n: int, imported: bool,
                                                     endpoint: str) -> None:
    customer = replace(ACME, delivery=delivery)
    assert endpoint_for(customer, n, bulk_only=imported) == endpoint


def test_imported_rows_never_share_a_request_with_other_leads() -> None:
    rows = [event(1, bulk_only="1", on_duplicate="skip"), event(2, bulk_only="1",
                                                                on_duplicate="skip")]
    webhook = event(3)
    assert bulk_only(rows) and not bulk_only([webhook])
    assert alike_prefix([*rows, webhook]) == 2
    assert alike_prefix([webhook, *rows]) == 1
    assert alike_prefix([rows[0], event(4, bulk_only="1", on_duplicate="update")]) == 1


def test_the_key_is_stable_across_retries_and_new_for_a_replay() -> None:
    one = event(1)
    assert idempotency_key("single", [one]) == f"lg-{HEX[:-1]}1"
    assert idempotency_key("single", [replace(one, replays=2)]) == f"lg-{HEX[:-1]}1-r2"
    pair = [event(1), event(2)]
    key = idempotency_key("bulk", pair)
    assert key.startswith("lgb-") and len(key) == 44
    assert idempotency_key("bulk", pair[::-1]) == key                 # order does not matter
    assert idempotency_key("bulk", [replace(pair[0], replays=1), pair[1]]) != key


def test_a_single_body_leaves_out_bulk_only_fields_and_bulk_carries_row_refs() -> None:
    lead = {"contact_name": "A", "owner_id": "o-1", "lead_line": "x"}
    single = json.loads(request_body(ACME, "single", [event(1, lead)]))
    assert single == {"contact_name": "A"}
    assert single_drops(json.dumps(lead)) == ["lead_line", "owner_id"]
    bulk = json.loads(request_body(ACME, "bulk", [event(1, lead), event(2)]))
    assert bulk["on_duplicate"] == "update" and bulk["dry_run"] is False
    assert [row["row_ref"] for row in bulk["leads"]] == [event(1).id, event(2).id]
    assert bulk["leads"][0]["owner_id"] == "o-1"


def test_an_imports_own_on_duplicate_wins_and_the_bytes_are_canonical() -> None:
    rows = [event(1, bulk_only="1", on_duplicate="skip")]
    body = request_body(ACME, "bulk", rows)
    assert json.loads(body)["on_duplicate"] == "skip"
    assert body == json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()


def sent_for(events: list[Event], endpoint: str = "bulk") -> SentRequest:
    return SentRequest(endpoint, "lgb-original", request_body(ACME, endpoint, events),
                       [e.id for e in events], 5)


def test_a_replay_of_an_unchanged_body_reuses_the_original_key() -> None:
    events = [event(1), event(2)]
    plan = replay_plan(ACME, events, sent_for(events), was_sent=True)
    assert (plan.key, plan.key_since, plan.warning) == ("lgb-original", 5, "")
    assert plan.body == request_body(ACME, "bulk", events)


@pytest.mark.parametrize(("change", "reason", "warning"), [
    ("new_key", "a new key, as asked", MAY_DUPLICATE),
    ("refused", "MEGA refused it", ""),
    ("forgotten", "past key retention", MAY_DUPLICATE),
    ("part", "the rest of its request was delivered", ""),
    ("body", "body changed since the first send", "")])
def test_a_replay_takes_a_new_key_and_says_why(change: str, reason: str, warning: str) -> None:
    events = [event(1), event(2)]
    sent: SentRequest | None = sent_for(events)
    if change == "refused":
        events = [replace(e, extra={**e.extra, "dead_reason": "rejected"}) for e in events]
    elif change == "forgotten":
        sent = None
    elif change == "part":
        events = events[:1]             # its pair was delivered: the body is another now
    elif change == "body":
        events = [event(1, {"contact_name": "changed"}), event(2)]
    plan = replay_plan(ACME, events, sent, was_sent=True, new_key=change == "new_key")
    renewed = [replace(e, replays=e.replays + 1) for e in events]
    assert plan.key == idempotency_key(plan.endpoint, renewed) != "lgb-original"
    assert reason in plan.reason and plan.warning == warning


def test_a_replay_of_what_was_never_sent_leaves_the_key_to_the_worker() -> None:
    plan = replay_plan(ACME, [event(1)], None, was_sent=False)
    assert (plan.key, plan.body) == ("", b"")
    unenriched = replace(event(2), extra={})
    assert replay_plan(ACME, [unenriched], None, was_sent=True).key == ""
