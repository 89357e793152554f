"""The one ingest path (gateway/ingest.py): a route without twins stores and dedups by the
event key with no look at twins; a Google route's webhook and listed leads find each other
through the same path, whichever comes first; and the intake, the CSV import and
reconciliation are its only callers of the store's intake."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import redis

from gateway.config import Config
from gateway.domain.event import event_id
from gateway.domain.leads import draft_event
from gateway.domain.sources import SOURCES, Draft, Inbound
from gateway.ingest import TWINS, ingest
from gateway.store.connection import StoreClient
from gateway.store.google_match import GoogleMatchIndex
from gateway.store.index import Index
from gateway.store.keys import Keys
from gateway.store.store import Store
from megasim.google import GoogleState
from megasim.google_leads import new_submission, webhook_body
from tests.conftest import build
from workers.google.match import submission_draft
from workers.google.reconcile import GoogleReconciliation

GOOGLE = "acme-google"
KEY = "google-key-0123456789"
DAY = 1_780_000_000
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def google(config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis
           ) -> tuple[Config, Store]:
    """A config with a Google route, and a store with the contact index (its digests)."""
    config_dict["server"]["secret_key"] = "s" * 32
    config_dict["routes"][GOOGLE] = {"customer": "acme", "source": "google_lead_forms",
                                     "google_key": KEY}
    config = build(config_dict, redis_server.url)
    return config, Store(redis_client, index=Index.from_config(config))


class Counting(StoreClient):
    """A real client that notes each command and pipeline it sends (the intake's script goes
    on a connection of its own; its memory look and script load are not noted)."""

    def __init__(self, client: redis.Redis) -> None:
        super().__init__(connection_pool=client.connection_pool)
        self.sent: list[str] = []

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if args[0] not in ("INFO", "SCRIPT LOAD"):       # once a second; once a Redis
            self.sent.append(str(args[0]))
        return super().execute_command(*args, **options)

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> Any:
        self.sent.append("PIPELINE")
        return super().pipeline(transaction, shard_hint)


def of(config: Config, route: Any) -> dict[str, Any]:
    """What the intake passes beside its drafts."""
    return {"source": SOURCES[route.source], "customer": config.customers[route.customer],
            "ttl_s": config.dedup_ttl_s}


def generic_draft(n: int) -> Draft:
    return Draft(event_id=f"sub-{n}", lead={"contact_email": f"lead{n}@example.com"})


def google_draft(submission: dict[str, Any], *, lead_id: str) -> Draft:
    body = {**webhook_body(submission, KEY), "lead_id": lead_id}
    inbound = Inbound("POST", {}, {}, json.dumps(body).encode(), "application/json")
    source = SOURCES["google_lead_forms"]
    return source.parse(inbound, source.load_settings({"google_key": KEY}))[0]


def test_a_route_without_twins_stores_then_dedups_by_the_event_key_with_no_look(
        config: Config, redis_client: redis.Redis) -> None:
    client = Counting(redis_client)
    store = Store(client, index=Index.from_config(config))
    route = config.routes["acme-form"]
    first = ingest(store, route, [generic_draft(1), generic_draft(2)], DAY, **of(config, route))
    again = ingest(store, route, [generic_draft(2)], DAY, **of(config, route))
    assert (first.accepted, first.duplicates, first.known) == (2, 0, ["", ""])
    assert (again.accepted, again.known, again.events) == (0, ["id"], [first.events[1]])
    assert client.sent == [] and "generic" not in TWINS
    assert not list(redis_client.scan_iter("*google*"))


def test_a_webhook_lead_reconciliation_stored_is_its_twins_duplicate(
        google: tuple[Config, Store], redis_client: redis.Redis) -> None:
    config, _ = google
    client = Counting(redis_client)
    store = Store(client, index=Index.from_config(config))
    route = config.routes[GOOGLE]
    state = GoogleState()
    submission = new_submission(state, "1234567890", "349080077126", DAY, None)
    listed = GoogleReconciliation(timeout_s=1)
    first = ingest(store, route, [submission], DAY, records=[_record(config, submission)],
                   customer=config.customers["acme"], ttl_s=config.dedup_ttl_s, twins=listed)
    assert first.known == [""]
    client.sent.clear()
    hook = ingest(store, route, [google_draft(submission, lead_id="hook-1")], DAY + 5,
                  **of(config, route))
    assert (hook.accepted, hook.known, hook.events) == (0, ["gclid"], first.events)
    assert client.sent == ["ZRANGEBYSCORE"]          # its look; a twin is neither stored nor kept
    assert store.stored([_event_id(config, "hook-1")]) == [False]


def test_a_listed_lead_whose_webhook_came_first_is_known_by_its_rule(
        google: tuple[Config, Store], redis_client: redis.Redis) -> None:
    config, store = google
    route = config.routes[GOOGLE]
    submission = new_submission(GoogleState(), "1234567890", "349080077126", DAY, None)
    hook = ingest(store, route, [google_draft(submission, lead_id="hook-2")], DAY + 5,
                  **of(config, route))
    assert hook.known == [""]
    entries = GoogleMatchIndex(redis_client, Keys()).near(GOOGLE, DAY)
    assert [e.event_id for e in entries] == hook.events and not entries[0].listed
    listed = ingest(store, route, [submission], DAY + 60, records=[_record(config, submission)],
                    customer=config.customers["acme"], ttl_s=config.dedup_ttl_s,
                    twins=GoogleReconciliation(timeout_s=1))
    assert (listed.accepted, listed.known, listed.events) == (0, ["gclid"], hook.events)


def test_a_dry_run_looks_and_stores_nothing(google: tuple[Config, Store]) -> None:
    config, store = google
    route = config.routes[GOOGLE]
    submission = new_submission(GoogleState(), "1234567890", "349080077126", DAY, None)
    dry = ingest(store, route, [submission], DAY, records=[_record(config, submission)],
                 customer=config.customers["acme"], ttl_s=config.dedup_ttl_s,
                 twins=GoogleReconciliation(timeout_s=1), dry_run=True)
    assert dry.known == [""] and store.stored(dry.events) == [False]


def test_every_source_that_declares_twins_has_its_webhook_side() -> None:
    assert set(TWINS) == {name for name, s in SOURCES.items() if s.remembered}


def test_the_intake_the_import_and_reconciliation_store_only_through_the_one_path() -> None:
    """Store.ingest has one caller, gateway/ingest.py; the three ways in call it."""
    callers = {str(p.relative_to(ROOT)) for folder in ("gateway", "workers")
               for p in (ROOT / folder).rglob("*.py")
               if re.search(r"store\.ingest\(", p.read_text())}
    assert callers == {"gateway/ingest.py"}
    for path in ("gateway/web/intake.py", "gateway/imports/record.py", "workers/reconcile.py"):
        assert re.search(r"from gateway\.ingest import .*\bingest\b",
                         (ROOT / path).read_text()), path


def _record(config: Config, submission: dict[str, Any]) -> dict[str, str]:
    """A listed submission's event record, as reconciliation makes it."""
    route = config.routes[GOOGLE]
    draft = submission_draft(submission, route.settings)
    return draft_event(route, SOURCES["google_lead_forms"], draft, DAY).to_fields()


def _event_id(config: Config, lead_id: str) -> str:
    return event_id("acme", "google_lead_forms", lead_id)
