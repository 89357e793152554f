"""Google reconciliation end to end: megasim's Google posts webhooks to a leadgate route served
on a real port (dropping a share, under lead_ids that differ from the API's ids); a run lists
the submissions, matches the webhook leads, and delivers each dropped one once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from werkzeug.serving import make_server

from gateway.app import create_app
from gateway.config import Config, config_from_dict
from megasim.google import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_CUSTOMER_ID,
    DEMO_DEVELOPER_TOKEN,
    DEMO_MANAGER_ID,
    DEMO_REFRESH_TOKEN,
)
from tests.conftest import ACME_ID, Sim
from workers.google.ads import GoogleAds
from workers.google.reconcile import GoogleReconciler, backfill_refusal, google_backfill

ROUTE = "acme-google"
KEY = "google-key-0123456789"
ENV = {"GADS_DEV": DEMO_DEVELOPER_TOKEN, "GADS_CLIENT": DEMO_CLIENT_ID,
       "GADS_SECRET": DEMO_CLIENT_SECRET, "GADS_REFRESH": DEMO_REFRESH_TOKEN}


@pytest.fixture
def google(config_dict: dict[str, Any], redis_server: Any, megasim: Sim, drain_factory: Any
           ) -> Iterator[tuple[Config, Any]]:
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
    megasim.http.patch("/_google", json={"page_size": 4, "webhook": {
        "url": f"http://127.0.0.1:{server.server_port}/hooks/{ROUTE}", "google_key": KEY,
        "drop": 0.3, "distinct_ids": True, "no_gclid": 0.3, "seed": 11}}).raise_for_status()
    yield config, drain_factory(config)
    server.shutdown()


def test_dropped_webhooks_are_delivered_once_and_matches_counted_by_rule(
        google: tuple[Config, Any], megasim: Sim, redis_client: redis.Redis) -> None:
    config, drain = google
    made = megasim.http.post("/_google/leads", json={
        "count": 20, "submitted": time.time() - 120}).json()
    dropped = set(made["dropped"])
    assert 0 < len(dropped) < 20 and not made["webhook_failed"]
    reconciler = GoogleReconciler(config, _store(config))
    found = reconciler.run(config.routes[ROUTE])
    assert found is not None
    assert (found.tally.seen, found.tally.new) == (20, len(dropped))
    rules = dict(found.rules)
    assert rules["gclid"] > 0 and rules["contact"] > 0
    assert rules["gclid"] + rules["contact"] == 20 - len(dropped) and "id" not in rules
    drain()
    emails = sorted(lead["contact_email"] for lead in megasim.leads(ACME_ID))
    assert emails == sorted(f"google+{s['id']}@example.com" for s in made["leads"])
    again = reconciler.run(config.routes[ROUTE])
    assert again is not None and again.tally.new == 0
    assert dict(again.rules) == {**rules, "id": len(dropped)}
    totals = redis_client.hgetall(f"leadgate:reconcile:{ROUTE}")
    assert totals[b"missed"] == str(len(dropped)).encode()
    assert totals[b"matched:contact"] == str(2 * rules["contact"]).encode()
    reconciler.ads.close()


def test_resource_exhausted_waits_googles_retry_delay(
        google: tuple[Config, Any], megasim: Sim, redis_client: redis.Redis) -> None:
    config, _ = google
    megasim.http.patch("/_google", json={"exhausted_next": 1, "retry_delay_s": 90})
    reconciler = GoogleReconciler(config, _store(config), clock=lambda: 1_780_000_000.0)
    assert reconciler.run(config.routes[ROUTE]) is None
    state = redis_client.hgetall(f"leadgate:reconcile:{ROUTE}")
    assert state[b"last_error_kind"] == b"throttled"
    assert int(state[b"next_at_ms"]) == 1_780_000_000_000 + 90_000
    assert b"wm" not in state
    reconciler.ads.close()


def _store(config: Config) -> Any:
    from gateway.index import Index
    from gateway.store import Store

    return Store(redis.Redis.from_url(config.redis_url), index=Index.from_config(config))


def test_backfill_dry_run_counts_and_stores_nothing_and_old_windows_are_refused(
        google: tuple[Config, Any], megasim: Sim, redis_client: redis.Redis) -> None:
    config, _ = google
    now = time.time()
    made = megasim.http.post("/_google/leads", json={"count": 10, "submitted": now - 5 * 86400,
                                                     }).json()
    assert made["dropped"]
    store, ads = _store(config), GoogleAds(timeout_s=5)
    route = config.routes[ROUTE]
    before = sorted(redis_client.keys("leadgate:event:*"))
    dry = google_backfill(ads, store, config, route, since=now - 6 * 86400, until=now,
                          dry_run=True, now=now)
    assert (dry.tally.seen, dry.tally.new) == (10, len(made["dropped"]))
    assert sorted(redis_client.keys("leadgate:event:*")) == before
    done = google_backfill(ads, store, config, route, since=now - 6 * 86400, until=now,
                           dry_run=False, now=now)
    assert done.tally.new == len(made["dropped"])
    vias = {redis_client.hget(k, "via") for k in redis_client.keys("leadgate:event:*")} - \
        {None}
    assert vias == {b"backfill"}
    with pytest.raises(ValueError, match="more than 30 days ago: the Google Ads API keeps"):
        google_backfill(ads, store, config, route, since=now - 31 * 86400, until=now,
                        dry_run=True, now=now)
    assert backfill_refusal(now - 29 * 86400, now) == ""
    ads.close()


def test_a_run_that_loses_its_lock_stops_and_moves_no_watermark(
        google: tuple[Config, Any], megasim: Sim, redis_client: redis.Redis) -> None:
    config, _ = google
    megasim.http.post("/_google/leads", json={"count": 10, "submitted": time.time() - 120})
    reconciler = GoogleReconciler(config, _store(config))
    real = reconciler.renew

    def stolen(route: Any, token: str) -> None:
        redis_client.set(f"leadgate:reconcile-lock:{ROUTE}", "another-worker")
        real(route, token)

    reconciler.renew = stolen  # type: ignore[method-assign]
    assert reconciler.run(config.routes[ROUTE]) is None
    assert redis_client.hget(f"leadgate:reconcile:{ROUTE}", "wm") is None
    assert redis_client.get(f"leadgate:reconcile-lock:{ROUTE}") == b"another-worker"
    reconciler.ads.close()
