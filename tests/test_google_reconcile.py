"""Google reconciliation end to end, on the generic runner (workers/reconcile.py): megasim's
Google posts webhooks to a leadgate route served on a real port (dropping a share, under
lead_ids equal to or unlike the API's ids); a run lists the submissions page by page, matches
the webhook leads, and delivers each dropped one once. Backfill, source health and alerts go
through the same capability as Meta's."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from click.testing import CliRunner
from werkzeug.serving import make_server

from gateway.cli import cli
from gateway.config import Config, config_from_dict, load_config
from gateway.domain.records import unpacked
from gateway.local.dev_run import DEV_CONFIG
from gateway.local.local_run import DEV_ENV
from gateway.store.index import Index
from gateway.store.route_status import reconcile_report, routes_report
from gateway.store.store import Store
from gateway.web.app import create_app
from megasim.google import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_CUSTOMER_ID,
    DEMO_DEVELOPER_TOKEN,
    DEMO_MANAGER_ID,
    DEMO_REFRESH_TOKEN,
)
from tests.conftest import ACME_ID, Sim, stored_keys, to_toml
from workers.alerts import Evaluator
from workers.monitors import HealthChecker
from workers.reconcile import Reconciler, reconciled_routes

ROUTE = "acme-google"
KEY = "google-key-0123456789"
ENV = {"GADS_DEV": DEMO_DEVELOPER_TOKEN, "GADS_CLIENT": DEMO_CLIENT_ID,
       "GADS_SECRET": DEMO_CLIENT_SECRET, "GADS_REFRESH": DEMO_REFRESH_TOKEN}
WATERMARK = f"wm:{DEMO_CUSTOMER_ID}"


@pytest.fixture
def google(config_dict: dict[str, Any], redis_server: Any, megasim: Sim, drain_factory: Any
           ) -> Iterator[tuple[Config, Any, str]]:
    """A Google route served on a real port, megasim's Google posting its webhooks there."""
    config_dict["routes"][ROUTE] = {
        "customer": "acme", "source": "google_lead_forms", "google_key": KEY,
        "ads_customer_id": DEMO_CUSTOMER_ID, "login_customer_id": DEMO_MANAGER_ID,
        "developer_token": "${GADS_DEV}", "oauth_client_id": "${GADS_CLIENT}",
        "oauth_client_secret": "${GADS_SECRET}", "oauth_refresh_token": "${GADS_REFRESH}",
        "ads_api_url": f"{megasim.url}/google/ads/v21",
        "oauth_token_url": f"{megasim.url}/google/token", "reconcile_grace_s": 0}
    config = config_from_dict(config_dict, env={**ENV, "REDIS_URL": redis_server.url})
    server = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_port}/hooks/{ROUTE}"
    webhooks(megasim, url=hook, google_key=KEY, drop=0.3, distinct_ids=True, no_gclid=0.3,
             seed=11)
    yield config, drain_factory(config), hook
    server.shutdown()


def webhooks(megasim: Sim, **settings: Any) -> None:
    megasim.http.patch("/_google", json={"page_size": 4, "webhook": settings}
                       ).raise_for_status()


def create(megasim: Sim, count: int, *, ago_s: float = 120) -> dict[str, Any]:
    made = megasim.http.post("/_google/leads", json={"count": count,
                                                     "submitted": time.time() - ago_s})
    made.raise_for_status()
    return made.json()  # type: ignore[no-any-return]


def delivered_once(redis_client: redis.Redis, megasim: Sim, made: list[dict[str, Any]]
                   ) -> None:
    """Every submission is one MEGA lead, created once (a second write would be an update)."""
    emails = sorted(lead["contact_email"] for lead in megasim.leads(ACME_ID))
    assert emails == sorted(f"google+{s['id']}@example.com" for s in made)
    events = [unpacked(redis_client.hgetall(key))
              for key in redis_client.scan_iter("leadgate:event:*")]
    assert len(events) == len(made)
    assert {(e["status"], e["outcome"]) for e in events} == {("delivered", "created")}


@pytest.mark.parametrize("distinct_ids", [True, False], ids=["ids-unlike", "ids-equal"])
def test_swallowed_webhooks_are_delivered_once_and_counted_as_missed(
        google: tuple[Config, Any, str], megasim: Sim, redis_client: redis.Redis,
        distinct_ids: bool) -> None:
    config, drain, _ = google
    webhooks(megasim, distinct_ids=distinct_ids)
    made = create(megasim, 20)
    dropped = set(made["dropped"])
    assert 0 < len(dropped) < 20 and not made["webhook_failed"]
    assert reconciled_routes(config) == [config.routes[ROUTE]]
    tally = Reconciler(config, drain.ctx.store).run(config.routes[ROUTE])
    assert tally is not None and (tally.seen, tally.new) == (20, len(dropped))
    rules = dict(tally.rules)
    if distinct_ids:      # the id cannot match: gclid, else the contact (some lack a gclid)
        assert rules["gclid"] > 0 and rules["contact"] > 0 and "id" not in rules
    else:
        assert rules == {"id": 20 - len(dropped)}
    assert sum(rules.values()) == 20 - len(dropped)
    drain()
    delivered_once(redis_client, megasim, made["leads"])
    report = reconcile_report(drain.ctx.store, config.routes[ROUTE])
    assert (report["seen"], report["missed"], report["last_missed"]) == (20, len(dropped),
                                                                         len(dropped))
    assert report["matched"] == rules and WATERMARK[3:] in report["watermarks"]
    vias = {redis_client.hget(k, "via") for k in redis_client.scan_iter("leadgate:event:*")}
    assert vias == {None, b"reconcile"}


def test_listing_follows_next_page_token_across_pages(
        google: tuple[Config, Any, str], megasim: Sim, redis_client: redis.Redis) -> None:
    config, drain, _ = google
    webhooks(megasim, drop=1.0)
    made = create(megasim, 11)                            # pages of 4: 4 + 4 + 3
    create(megasim, 2, ago_s=40 * 86400)                  # outside the window
    tally = Reconciler(config, drain.ctx.store).run(config.routes[ROUTE])
    assert tally is not None and (tally.seen, tally.new) == (11, 11)
    searches = megasim.http.get("/_google").json()["searches"]
    assert len(searches) == 3 and all(s["customer_id"] == DEMO_CUSTOMER_ID for s in searches)
    drain()
    delivered_once(redis_client, megasim, made["leads"])


def webhook_for(submission: dict[str, Any]) -> bytes:
    """The webhook megasim's Google would post for a listed submission (GET /_google/leads)."""
    number = submission["id"]
    return json.dumps({
        "lead_id": submission["lead_id"], "google_key": KEY, "api_version": "1.0",
        "form_id": int(submission["asset"].rsplit("/", 1)[1]),
        "gcl_id": f"Cj0KCQjw-gclid-{number}",
        "lead_submit_time": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                          time.gmtime(submission["submitted"])),
        "user_column_data": [
            {"column_id": "FULL_NAME", "string_value": f"Google Lead {number[-4:]}"},
            {"column_id": "EMAIL", "string_value": f"google+{number}@example.com"},
            {"column_id": "PHONE_NUMBER", "string_value": f"+1650555{number[-4:]}"}]}
    ).encode()


@pytest.mark.parametrize("distinct_ids", [True, False], ids=["ids-unlike", "ids-equal"])
def test_a_lead_seen_by_both_paths_in_either_order_is_delivered_once(
        google: tuple[Config, Any, str], megasim: Sim, redis_client: redis.Redis,
        distinct_ids: bool) -> None:
    config, drain, hook = google
    webhooks(megasim, drop=0.0, distinct_ids=distinct_ids, no_gclid=0.0)
    first = create(megasim, 1)["leads"]                   # the webhook comes first
    webhooks(megasim, drop=1.0)
    late = create(megasim, 1)["leads"]                    # reconciliation comes first
    tally = Reconciler(config, drain.ctx.store).run(config.routes[ROUTE])
    assert tally is not None and (tally.seen, tally.known, tally.new) == (2, 1, 1)
    listed = {s["id"]: s for s in megasim.http.get("/_google/leads").json()["leads"]}
    answer = httpx.post(hook, content=webhook_for(listed[late[0]["id"]]),
                        headers={"Content-Type": "application/json"})
    assert answer.status_code == 200 and answer.json()["duplicates"] == 1
    recovered = [k.decode()[len("leadgate:event:"):] for k in
                 redis_client.scan_iter("leadgate:event:*") if redis_client.hget(k, "via")]
    assert answer.json()["events"] == recovered           # the lead reconciliation stored
    drain()
    delivered_once(redis_client, megasim, first + late)


def test_backfill_dry_run_stores_nothing_and_old_windows_are_refused(
        google: tuple[Config, Any, str], megasim: Sim, redis_client: redis.Redis,
        config_dict: dict[str, Any], redis_server: Any, tmp_path: Path) -> None:
    config, drain, _ = google
    made = create(megasim, 10, ago_s=5 * 86400)
    assert made["dropped"]
    path = tmp_path / "leadgate.toml"
    path.write_text(to_toml(config_dict))
    since = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 6 * 86400))
    runner, env = CliRunner(), {**ENV, "REDIS_URL": redis_server.url}
    before = stored_keys(redis_client)
    dry = runner.invoke(cli, ["backfill", ROUTE, "--config", str(path), "--since", since,
                              "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert (f"seen 10, already known {10 - len(made['dropped'])}, new {len(made['dropped'])} "
            "(not stored), failed 0") in dry.output
    assert stored_keys(redis_client) == before
    real = runner.invoke(cli, ["backfill", ROUTE, "--config", str(path), "--since", since],
                         env=env)
    assert real.exit_code == 0 and f"new {len(made['dropped'])}, failed 0" in real.output
    vias = {redis_client.hget(k, "via") for k in redis_client.scan_iter("leadgate:event:*")}
    assert vias == {None, b"backfill"}
    drain()
    delivered_once(redis_client, megasim, made["leads"])
    old = time.strftime("%Y-%m-%d", time.gmtime(time.time() - 31 * 86400))
    refused = runner.invoke(cli, ["backfill", ROUTE, "--config", str(path), "--since", old,
                                  "--dry-run"], env=env)
    assert refused.exit_code == 1
    assert "more than 30 days ago: the Google Ads API keeps" in refused.output


def test_resource_exhausted_waits_googles_retry_delay(
        google: tuple[Config, Any, str], megasim: Sim, redis_client: redis.Redis) -> None:
    config, drain, _ = google
    megasim.http.patch("/_google", json={"exhausted_next": 1, "retry_delay_s": 90})
    reconciler = Reconciler(config, drain.ctx.store, clock=lambda: 1_780_000_000.0)
    assert reconciler.run(config.routes[ROUTE]) is None
    state = redis_client.hgetall(f"leadgate:reconcile:{ROUTE}")
    assert state[b"last_error_kind"] == b"throttled"
    assert int(state[b"next_at_ms"]) == 1_780_000_000_000 + 90_000
    assert WATERMARK.encode() not in state


def test_invalid_grant_shows_in_health_and_alerts_once_then_resolves(
        google: tuple[Config, Any, str], megasim: Sim, redis_client: redis.Redis,
        redis_server: Any, tmp_path: Path, config_dict: dict[str, Any]) -> None:
    config, drain, _ = google
    store, subject = drain.ctx.store, f"source_unhealthy:{ROUTE}"
    health, alerts = HealthChecker(config, store), Evaluator(config, store)
    megasim.http.patch("/_google", json={"invalid_grant": True}).raise_for_status()
    assert health.check_all()[ROUTE]["state"] == "token_invalid"
    shown = routes_report(config, store)[ROUTE]
    assert shown["health"]["state"] == "token_invalid" and "invalid_grant" in \
        shown["health"]["reason"]
    assert alerts.evaluate() == [subject]
    assert alerts.evaluate() == []                        # once, not on every evaluation
    path = tmp_path / "leadgate.toml"
    path.write_text(to_toml(config_dict))
    status = CliRunner().invoke(cli, ["status", "--config", str(path), "--no-check"],
                                env={**ENV, "REDIS_URL": redis_server.url})
    assert f"google route {ROUTE}: token invalid; reconciled never" in status.output
    assert f"alerts firing: {subject}" in status.output
    megasim.http.patch("/_google", json={"invalid_grant": False}).raise_for_status()
    assert health.check_all()[ROUTE]["state"] == "healthy"
    assert alerts.evaluate() == [subject]                 # the resolved one
    assert not redis_client.hkeys("leadgate:alert-state")
    health.close()


def test_the_dev_demo_google_route_reconciles_against_megasims_google(
        megasim: Sim, redis_server: Any, redis_client: redis.Redis) -> None:
    assert DEV_ENV == {f"LEADGATE_DEV_GOOGLE_{name}": value for name, value in (
        ("DEVELOPER_TOKEN", DEMO_DEVELOPER_TOKEN), ("CLIENT_ID", DEMO_CLIENT_ID),
        ("CLIENT_SECRET", DEMO_CLIENT_SECRET), ("REFRESH_TOKEN", DEMO_REFRESH_TOKEN))}
    config = load_config(DEV_CONFIG, env={**DEV_ENV, "MEGA_BASE_URL": megasim.url,
                                          "REDIS_URL": redis_server.url})
    route = config.routes["demo-google"]
    assert route in reconciled_routes(config) and route.settings.reconcile_every_min == 1
    made = create(megasim, 3)                             # no webhook: none is posted
    store = Store(redis_client, index=Index.from_config(config))
    reconciler = Reconciler(config, store)
    assert route in reconciler.due()                      # the worker's tick would run it
    tally = reconciler.run(route)
    assert tally is not None and (tally.seen, tally.new) == (3, 3)
    assert len(made["leads"]) == 3 and route not in reconciler.due()    # next in a minute
    reconciler.close()
