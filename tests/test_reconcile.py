"""Reconciliation and backfill against megasim's Graph stand-in, over HTTP: webhooks it swallows
are recovered, each lead reaches MEGA once, paging survives short pages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from click.testing import CliRunner
from werkzeug.serving import make_server

from gateway.cli import cli
from gateway.config import Config
from gateway.domain.records import unpacked
from gateway.domain.sources.twins import Twin
from gateway.store.route_status import reconcile_report
from gateway.web.app import create_app
from megasim.graph import DEMO_FORM_ID, DEMO_PAGE_ID
from tests.conftest import ACME_ID, Sim, build, stored_keys, to_toml
from tests.samples import META_SECRET, META_TOKEN, sign
from workers.meta.graph import GraphError
from workers.meta.pages import MetaPages
from workers.meta.reconcile import MetaReconciliation
from workers.reconcile import Reconciler

ROOT = Path(__file__).resolve().parents[1]
ROUTE = "acme-meta"
SECOND_FORM = "555000111222333"


def meta_route(megasim: Sim, **settings: Any) -> dict[str, Any]:
    return {"customer": "acme", "source": "meta_lead_ads", "secret": META_SECRET,
            "verify_token": "meta-verify-token", "page_access_token": META_TOKEN,
            "graph_api_url": f"{megasim.url}/graph/v21.0", "page_id": DEMO_PAGE_ID,
            "reconcile_grace_s": 0, **settings}


@pytest.fixture
def meta(config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
         megasim: Sim, drain_factory: Any) -> Iterator[tuple[Config, Any, str]]:
    """A Meta route served on a real port, megasim's stand-in posting its webhooks there."""
    config_dict["routes"][ROUTE] = meta_route(megasim)
    config = build(config_dict, redis_server.url)
    server = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{server.server_port}/hooks/{ROUTE}"
    megasim.graph(tokens=[META_TOKEN], webhook={"url": hook, "app_secret": META_SECRET,
                                                "swallow": 0.0, "seed": 3},
                  pages={DEMO_PAGE_ID: {"forms": [DEMO_FORM_ID, SECOND_FORM], "apps": []}})
    yield config, drain_factory(config), hook
    server.shutdown()


def create(megasim: Sim, n: int, *, form: str = DEMO_FORM_ID, ago_s: int = 60) -> dict[str, Any]:
    response = megasim.http.post("/_graph/leads", json={
        "form_id": form, "count": n, "created_time": int(time.time()) - ago_s})
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def delivered_once(redis_client: redis.Redis, megasim: Sim, lead_ids: list[str]) -> None:
    """Every lead is one MEGA lead, created once (a second write would be an update)."""
    emails = sorted(lead["contact_email"] for lead in megasim.leads(ACME_ID))
    assert emails == sorted(f"meta+{i}@example.com" for i in lead_ids)
    events = [unpacked(redis_client.hgetall(key))
              for key in redis_client.scan_iter("leadgate:event:*")]
    assert sorted(e["provider_id"] for e in events) == sorted(lead_ids)
    assert {(e["status"], e["outcome"]) for e in events} == {("delivered", "created")}


def test_swallowed_webhooks_are_recovered_and_counted(
        meta: tuple[Config, Any, str], megasim: Sim, redis_client: redis.Redis) -> None:
    config, drain, _ = meta
    megasim.graph(webhook={"swallow": 0.3, "seed": 11}, short_pages=[2], short_page_size=1)
    made = create(megasim, 20)
    made2 = create(megasim, 10, form=SECOND_FORM)
    swallowed = made["swallowed"] + made2["swallowed"]
    assert 0 < len(swallowed) < 30 and not made["webhook_failed"]
    drain()
    assert len(megasim.leads(ACME_ID)) == 30 - len(swallowed)
    reconciler = Reconciler(config, drain.ctx.store, page_size=4)    # 7 pages, one short
    tally = reconciler.run(config.routes[ROUTE])
    assert tally is not None and (tally.seen, tally.new) == (30, len(swallowed))
    drain()
    delivered_once(redis_client, megasim, made["leads"] + made2["leads"])
    report = reconcile_report(drain.ctx.store, config.routes[ROUTE])
    assert (report["seen"], report["missed"], report["last_missed"]) == (30, len(swallowed),
                                                                         len(swallowed))
    vias = {redis_client.hget(k, "via") for k in redis_client.scan_iter("leadgate:event:*")}
    assert vias == {None, b"reconcile"}
    # the next run lists from the watermark (minus the overlap): all known, nothing missed
    again = reconciler.run(config.routes[ROUTE])
    assert again is not None and again.new == 0
    assert reconcile_report(drain.ctx.store, config.routes[ROUTE])["missed"] == len(swallowed)
    drain.ctx.store.metrics.flush()
    admin = create_app(config).test_client()
    auth = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}
    shown = admin.get("/v1/routes", headers=auth).get_json()["routes"]
    assert shown[ROUTE]["reconcile"]["missed"] == len(swallowed)
    assert shown[ROUTE]["reconcile"]["seen"] == 60 and "reconcile" not in shown["acme-form"]
    metrics = admin.get("/metrics", headers=auth).get_data(as_text=True)
    assert f'leadgate_reconcile_leads_total{{result="missed",route="{ROUTE}"}} ' \
           f'{float(len(swallowed))}' in metrics


def test_a_lead_seen_by_webhook_and_reconciliation_is_delivered_once(
        meta: tuple[Config, Any, str], megasim: Sim, redis_client: redis.Redis) -> None:
    config, drain, hook = meta
    first = create(megasim, 1)["leads"]                 # the webhook comes first
    megasim.graph(webhook={"swallow": 1.0})
    late = create(megasim, 1)["leads"]                  # reconciliation comes first
    reconciler = Reconciler(config, drain.ctx.store)
    tally = reconciler.run(config.routes[ROUTE])
    assert tally is not None and (tally.seen, tally.known, tally.new) == (2, 1, 1)
    body = json.dumps({"object": "page", "entry": [{"id": DEMO_PAGE_ID, "time": 1, "changes": [
        {"field": "leadgen", "value": {"leadgen_id": int(late[0]), "form_id": DEMO_FORM_ID,
                                       "page_id": DEMO_PAGE_ID}}]}]}).encode()
    answer = httpx.post(hook, content=body, headers={
        "Content-Type": "application/json",
        **sign("meta_lead_ads", body)})
    assert answer.status_code == 200 and answer.json()["duplicates"] == 1
    drain()
    delivered_once(redis_client, megasim, first + late)


def test_listing_pages_past_a_short_page(meta: tuple[Config, Any, str], megasim: Sim) -> None:
    config, drain, _ = meta
    megasim.graph(webhook={"swallow": 1.0}, short_pages=[2], short_page_size=0)
    made = create(megasim, 7)["leads"]
    old = create(megasim, 2, ago_s=5 * 86400)["leads"]       # outside the window
    pages = MetaPages(timeout_s=2)
    since = int(time.time()) - 3600
    before = megasim.graph()["requests"]
    listed = list(pages.leads(f"{megasim.url}/graph/v21.0", META_TOKEN, DEMO_FORM_ID,
                              since=since, page_size=3))
    assert [len(page) for page in listed] == [3, 0, 3, 1]       # an empty page is no end
    assert megasim.graph()["requests"] - before == 4
    assert sorted(lead["id"] for page in listed for lead in page) == sorted(made)
    window = list(pages.leads(f"{megasim.url}/graph/v21.0", META_TOKEN, DEMO_FORM_ID,
                              since=since - 6 * 86400, until=since, page_size=3))
    assert sorted(lead["id"] for page in window for lead in page) == sorted(old)
    pages.close()


def test_graph_errors_back_off_the_route_and_never_raise(
        meta: tuple[Config, Any, str], megasim: Sim) -> None:
    config, drain, _ = meta
    reconciler = Reconciler(config, drain.ctx.store)
    megasim.graph(throttle_next=1)
    assert reconciler.run(config.routes[ROUTE]) is None
    report = reconcile_report(drain.ctx.store, config.routes[ROUTE])
    assert "80005" in (report["last_error"] or "") or "too many" in report["last_error"]
    assert report["next_at_ms"] > time.time() * 1000 + 30_000     # backed off, not hammered
    assert reconciler.due() == []
    megasim.graph(tokens=["another-token"])
    drain.ctx.redis.hset(drain.ctx.store.keys.reconcile(ROUTE), "next_at_ms", 0)
    reconciler.tick()
    report = reconcile_report(drain.ctx.store, config.routes[ROUTE])
    assert "expired" in report["last_error"]


def test_one_reconciliation_per_route_at_a_time(meta: tuple[Config, Any, str],
                                                megasim: Sim) -> None:
    config, drain, _ = meta
    store = drain.ctx.store
    store._redis.set(store.keys.reconcile_lock(ROUTE), "another-worker", px=60_000)
    before = megasim.graph()["requests"]
    assert Reconciler(config, store).run(config.routes[ROUTE]) is None
    assert megasim.graph()["requests"] == before                 # it asked Meta nothing
    store._redis.delete(store.keys.reconcile_lock(ROUTE))
    assert Reconciler(config, store).run(config.routes[ROUTE]) is not None
    assert not store._redis.exists(store.keys.reconcile_lock(ROUTE))


def test_backfill_dry_run_stores_nothing_and_a_real_one_delivers_each_once(
        meta: tuple[Config, Any, str], megasim: Sim, redis_client: redis.Redis,
        config_dict: dict[str, Any], redis_server: Any, tmp_path: Path) -> None:
    config, drain, _ = meta
    megasim.graph(webhook={"swallow": 1.0})
    day = int(time.time()) // 86400 * 86400 - 20 * 86400       # 20 days ago, 00:00 UTC
    made = []
    for offset in (3600, 50_000, 86_000):
        made += megasim.http.post("/_graph/leads", json={
            "count": 2, "created_time": day + offset}).json()["leads"]
    megasim.http.post("/_graph/leads", json={"count": 1, "created_time": day + 2 * 86400 + 5})
    path = tmp_path / "leadgate.toml"
    path.write_text(to_toml(config_dict))
    since = time.strftime("%Y-%m-%d", time.gmtime(day))
    runner = CliRunner()
    env = {"REDIS_URL": redis_server.url}
    before = stored_keys(redis_client)
    dry = runner.invoke(cli, ["backfill", ROUTE, "--config", str(path), "--since", since,
                              "--until", since, "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "seen 6, already known 0, new 6 (not stored), failed 0" in dry.output
    assert stored_keys(redis_client) == before
    real = runner.invoke(cli, ["backfill", ROUTE, "--config", str(path), "--since", since,
                               "--until", since], env=env)
    assert real.exit_code == 0 and "seen 6, already known 0, new 6, failed 0" in real.output
    drain()
    again = runner.invoke(cli, ["backfill", ROUTE, "--config", str(path), "--since", since,
                                "--until", since], env=env)
    assert "seen 6, already known 6, new 0" in again.output
    drain()
    delivered_once(redis_client, megasim, made)


def test_a_run_failing_on_a_later_form_keeps_what_it_recovered(
        meta: tuple[Config, Any, str], megasim: Sim, config_dict: dict[str, Any],
        redis_server: Any) -> None:
    _, drain, _ = meta
    config_dict["routes"][ROUTE]["forms"] = [DEMO_FORM_ID, "404404404"]   # no such form
    config = build(config_dict, redis_server.url)
    megasim.graph(webhook={"swallow": 1.0})
    made = create(megasim, 4)["leads"]
    assert Reconciler(config, drain.ctx.store).run(config.routes[ROUTE]) is None
    report = reconcile_report(drain.ctx.store, config.routes[ROUTE])
    assert (report["seen"], report["missed"]) == (4, 4) and "404404404" in report["last_error"]
    assert list(report["watermarks"]) == [DEMO_FORM_ID]
    drain()
    assert len(megasim.leads(ACME_ID)) == len(made)


@pytest.mark.timeout(60)
def test_a_worker_reconciles_on_its_own_from_the_start(
        meta: tuple[Config, Any, str], megasim: Sim, config_dict: dict[str, Any],
        redis_server: Any, tmp_path: Path) -> None:
    megasim.graph(webhook={"swallow": 1.0})
    made = create(megasim, 3)["leads"]
    path = tmp_path / "leadgate.toml"
    path.write_text(to_toml(config_dict))
    env = {**os.environ, "REDIS_URL": redis_server.url, "LOG_LEVEL": "DEBUG"}
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen([sys.executable, "-m", "gateway.cli", "worker", "--config",
                               str(path)], cwd=ROOT, env=env, stdout=log,
                              stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while len(megasim.leads(ACME_ID)) < 3 and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        worker.terminate()
        worker.wait(20)
        log.close()
    assert sorted(lead["contact_email"] for lead in megasim.leads(ACME_ID)) == sorted(
        f"meta+{i}@example.com" for i in made)
    output = (tmp_path / "worker.log").read_text()
    assert "recovered 3 lead(s) the webhook missed" in output
    assert META_TOKEN not in output and "@example.com" not in output
    shown = CliRunner().invoke(cli, ["status", "--config", str(path), "--no-check"],
                               env={"REDIS_URL": redis_server.url})
    assert "seen 3, missed by webhook 3" in shown.output
    assert f"meta route {ROUTE}: not subscribed" in shown.output   # the fixture page has no app


def test_a_lead_a_source_knows_by_its_own_rule_is_counted_known_and_not_stored(
        meta: tuple[Config, Any, str], megasim: Sim, redis_client: redis.Redis) -> None:
    config, drain, _ = meta
    megasim.graph(webhook={"swallow": 1.0})
    leads = create(megasim, 2)["leads"]

    class KnowsTheFirst(MetaReconciliation):
        """A source that matches a listed lead by more than its event key."""

        def twins(self, store: Any, route: Any, pairs: list[tuple[Any, str]], now: float
                  ) -> dict[str, Twin]:
            return {eid: Twin(eid, "mine") for item, eid in pairs if item["id"] == leads[0]}

    reconciler = Reconciler(config, drain.ctx.store,
                            sources={"meta_lead_ads": KnowsTheFirst(timeout_s=5)})
    tally = reconciler.run(config.routes[ROUTE])
    assert tally is not None and (tally.seen, tally.known, tally.new) == (2, 1, 1)
    assert reconcile_report(drain.ctx.store, config.routes[ROUTE])["matched"] == {"mine": 1}
    stored = [unpacked(redis_client.hgetall(key))["provider_id"]
              for key in redis_client.scan_iter("leadgate:event:*")]
    assert stored == [leads[1]]


def test_a_reconciler_that_lost_its_lock_stops_and_moves_no_watermark(
        meta: tuple[Config, Any, str], megasim: Sim) -> None:
    config, drain, _ = meta
    store = drain.ctx.store
    megasim.graph(webhook={"swallow": 1.0})
    create(megasim, 5)

    class Slow(MetaPages):
        """A listing so slow that the lock expires after its first page and another worker
        takes the route over."""

        def leads(self, *args: Any, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
            for number, page in enumerate(super().leads(*args, **{**kwargs, "page_size": 2})):
                yield page
                if number == 0:
                    store._redis.set(store.keys.reconcile_lock(ROUTE), "another-worker")

    reconciler = Reconciler(config, store, sources={
        "meta_lead_ads": MetaReconciliation(timeout_s=2, pages=Slow(timeout_s=2))})
    assert reconciler.run(config.routes[ROUTE]) is None
    report = reconcile_report(store, config.routes[ROUTE])
    # the theft lands during the second page's fetch: that page is stored, then it stops
    assert report["watermarks"] == {} and (report["seen"], report["missed"]) == (4, 4)
    assert store._redis.get(store.keys.reconcile_lock(ROUTE)) == b"another-worker"


@pytest.mark.parametrize(("args", "message"), [
    (["acme-form", "--since", "2026-01-02"],
     "'acme-form' is not a route whose source lists its leads"),
    ([ROUTE, "--since", "2026-01-02", "--until", "2026-01-01"], "--until is before --since"),
    ([ROUTE, "--since", "yesterday"], "Invalid value for '--since'"),
])
def test_backfill_refuses_bad_arguments(meta: tuple[Config, Any, str], args: list[str],
                                        message: str, config_dict: dict[str, Any],
                                        redis_server: Any, redis_client: redis.Redis,
                                        tmp_path: Path) -> None:
    path = tmp_path / "leadgate.toml"
    path.write_text(to_toml(config_dict))
    result = CliRunner().invoke(cli, ["backfill", *args, "--config", str(path)],
                                env={"REDIS_URL": redis_server.url})
    assert result.exit_code != 0 and message in result.output
    assert stored_keys(redis_client) == []


def test_a_listing_whose_cursor_repeats_stops_and_says_so(
        meta: tuple[Config, Any, str], megasim: Sim) -> None:
    config, drain, _ = meta
    route = config.routes[ROUTE]
    config.routes[ROUTE] = replace(route, settings=replace(route.settings, forms=(DEMO_FORM_ID,)))
    megasim.graph(webhook={"swallow": 1.0}, repeat_cursor=True)
    create(megasim, 7)
    before = megasim.graph()["requests"]
    assert Reconciler(config, drain.ctx.store, page_size=3).run(config.routes[ROUTE]) is None
    assert megasim.graph()["requests"] - before == 2      # without the check: 10,000 a round
    report = reconcile_report(drain.ctx.store, config.routes[ROUTE])
    assert report["last_error"] == f"form {DEMO_FORM_ID}: Graph repeated a paging cursor " \
                                   "after 2 pages"
    assert report["next_at_ms"] > time.time() * 1000 + 30_000     # backed off
    seen = drain.ctx.redis.hget(drain.ctx.store.keys.reconcile(ROUTE), "seen")
    assert int(seen) == 6                                  # two pages of three, not 10,000


def test_a_listing_longer_than_its_window_can_hold_stops_at_the_page_cap(
        meta: tuple[Config, Any, str], megasim: Sim) -> None:
    """Empty pages with ever new cursors: paging goes on to the cap, then an error."""
    config, drain, _ = meta
    megasim.graph(short_pages=list(range(1, 1000)), short_page_size=0)
    create(megasim, 2)
    pages = MetaPages(timeout_s=2)
    since = int(time.time()) - 600                # 600 leads at most: 12 pages, 24 allowed
    before = megasim.graph()["requests"]
    with pytest.raises(GraphError, match="more than 24 pages for 600 s of leads"):
        list(pages.leads(f"{megasim.url}/graph/v21.0", META_TOKEN, DEMO_FORM_ID,
                         since=since, until=since + 600, page_size=50))
    assert megasim.graph()["requests"] - before == 24
    pages.close()


def test_the_sources_that_list_leads_are_those_with_a_reconciliation() -> None:
    from gateway.domain.sources import SOURCES
    from workers.capabilities import CAPABILITIES

    listing = {name for name, source in SOURCES.items() if source.lists_leads}
    assert listing == {name for name, side in CAPABILITIES.items() if side.reconciliation}
    assert listing == {"meta_lead_ads", "google_lead_forms"}
