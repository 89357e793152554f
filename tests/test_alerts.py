"""Source health and alerts: states checked against megasim's Graph stand-in, alerts sent to a
real local HTTP receiver, once per change of state, signed as Standard Webhooks sign."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner
from werkzeug.datastructures import Headers
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from gateway import defaults
from gateway.cli import cli
from gateway.config import Config
from gateway.domain.sources.base import Inbound
from gateway.domain.sources.providers.standard_webhooks import (
    StandardWebhooks,
    StandardWebhooksSettings,
)
from gateway.errors import Unauthorized
from gateway.web.app import create_app
from megasim.graph import DEMO_PAGE_ID
from tests.conftest import URL_TOKEN, Sim, build, to_toml
from tests.samples import META_SECRET, META_TOKEN
from workers.alerts import AlertSender, Evaluator
from workers.monitors import HealthChecker

ROOT = Path(__file__).resolve().parents[1]
SECRET = "whsec_" + "c2VjcmV0LWZvci1hbGVydHMtdGVzdHM="
ROUTE = "acme-meta"
OTHER_TOKEN = "EAAG-another-page-token"


class Receiver:
    """A local HTTP server recording what it is sent; `hang` holds requests unanswered."""

    def __init__(self) -> None:
        self.got: list[tuple[str, Headers, bytes]] = []
        self.mode, self.arrived, self.release = "ok", threading.Event(), threading.Event()
        self.failing: set[str] = set()          # paths answered with 500
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def app(self, environ: dict[str, Any], start: Any) -> Any:
        request = Request(environ)
        body = request.get_data()
        if self.mode == "hang":
            self.arrived.set()
            self.release.wait(30)
            return Response("gone", status=503)(environ, start)
        self.got.append((request.path, Headers(request.headers), body))
        if request.path in self.failing:
            return Response("broken", status=500)(environ, start)
        return Response("ok")(environ, start)

    def webhooks(self) -> list[dict[str, Any]]:
        """The signed alerts received, each checked with the Standard Webhooks verifier."""
        out = []
        for path, headers, body in self.got:
            if path == "/hook":
                StandardWebhooks().authenticate(Inbound(
                    "POST", headers, {}, body, "application/json", now=time.time()),
                    StandardWebhooksSettings(secret=SECRET, tolerance_s=300))
                out.append({**json.loads(body), "webhook-id": headers["Webhook-Id"]})
        return out

    def slack(self) -> list[str]:
        return [json.loads(body)["text"] for path, _, body in self.got if path == "/slack"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.release.set()
    made.server.shutdown()


def alerting(config_dict: dict[str, Any], receiver: Receiver, **extra: Any) -> dict[str, Any]:
    config_dict["alerts"] = {"webhook_url": f"{receiver.url}/hook", "webhook_secret": SECRET,
                             "slack_webhook_url": f"{receiver.url}/slack", "timeout_s": 1,
                             **extra}
    return config_dict


@pytest.fixture
def meta_config(config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
                megasim: Sim, receiver: Receiver) -> Config:
    config_dict["routes"][ROUTE] = {
        "customer": "acme", "source": "meta_lead_ads", "secret": META_SECRET,
        "verify_token": "meta-verify-token", "page_access_token": META_TOKEN,
        "graph_api_url": f"{megasim.url}/graph/v21.0", "page_id": DEMO_PAGE_ID}
    other = {k: v for k, v in config_dict["routes"][ROUTE].items() if k != "page_id"}
    config_dict["routes"]["other-meta"] = {**other, "page_access_token": OTHER_TOKEN}
    megasim.graph(tokens=[META_TOKEN, OTHER_TOKEN])
    return build(alerting(config_dict, receiver), redis_server.url)


def store_of(config: Config) -> Any:
    from gateway.store.store import Store
    return Store(redis.Redis.from_url(config.redis_url))


@pytest.mark.parametrize(("change", "state"), [
    ({"token_info": {META_TOKEN: {"is_valid": False}}}, "token_invalid"),
    ({"token_info": {META_TOKEN: {"scopes": ["pages_show_list"]}}}, "permission_missing"),
    ({"pages": {DEMO_PAGE_ID: {"forms": [], "apps": [
        {"id": "999", "name": "another app", "subscribed_fields": ["leadgen"]}]}}},
     "not_subscribed"),
    ({}, "healthy")])
def test_each_health_state(meta_config: Config, megasim: Sim, change: dict[str, Any],
                           state: str) -> None:
    megasim.graph(**change)
    results = HealthChecker(meta_config, store_of(meta_config)).check_all()
    assert results[ROUTE]["state"] == state
    assert META_TOKEN not in json.dumps(results)
    admin = create_app(meta_config).test_client()
    auth = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}
    assert admin.get("/v1/routes", headers=auth).get_json()["routes"][ROUTE]["health"][
        "state"] == state
    metrics = admin.get("/metrics", headers=auth).get_data(as_text=True)
    assert f'leadgate_source_health{{route="{ROUTE}",state="{state}"}} 1.0' in metrics


def test_an_expiring_token_shows_in_status_and_alerts_once_then_resolves(
        meta_config: Config, megasim: Sim, receiver: Receiver, tmp_path: Path,
        config_dict: dict[str, Any], redis_server: Any) -> None:
    megasim.graph(token_info={META_TOKEN: {"expires_at": int(time.time()) + 5 * 86400 + 600}})
    path = tmp_path / "leadgate.toml"
    path.write_text(to_toml(config_dict))
    shown = CliRunner().invoke(cli, ["status", "--config", str(path)],
                               env={"REDIS_URL": redis_server.url})
    assert shown.exit_code == 0, shown.output
    assert f"meta route {ROUTE}: token expiring in 5 days" in shown.output
    store = store_of(meta_config)
    workers = [Evaluator(meta_config, store), Evaluator(meta_config, store)]
    sender = AlertSender(meta_config, store)
    assert [w.evaluate() for w in workers] == [[f"token_expiring:{ROUTE}"], []]
    assert sender.send_due() == 2 and sender.send_due() == 0      # webhook and Slack
    shown = CliRunner().invoke(cli, ["status", "--config", str(path), "--no-check"],
                               env={"REDIS_URL": redis_server.url})
    assert f"alerts firing: token_expiring:{ROUTE}" in shown.output
    (firing,) = receiver.webhooks()
    assert firing["type"] == "alert.firing" and firing["data"]["kind"] == "token_expiring"
    assert "5 days" in firing["data"]["summary"]
    assert receiver.slack() == [f":rotating_light: leadgate route {ROUTE}: the Meta page token "
                                "expires in 5 days"]
    megasim.graph(token_info={META_TOKEN: {"expires_at": int(time.time()) + 60 * 86400}})
    HealthChecker(meta_config, store).check_all()
    assert [w.evaluate() for w in workers] == [[f"token_expiring:{ROUTE}"], []]
    sender.send_due()
    assert [a["type"] for a in receiver.webhooks()] == ["alert.firing", "alert.resolved"]
    assert len(receiver.slack()) == 2 and workers[0].evaluate() == []
    # a tampered body fails the verification the test relies on
    path_, headers, body = next(got for got in receiver.got if got[0] == "/hook")
    receiver.got = [(path_, headers, body.replace(b"5 days", b"6 days"))]
    with pytest.raises(Unauthorized):
        receiver.webhooks()


def set_every_condition(store: Any, on: bool) -> None:
    """Each alert kind's condition, on or off, as the rest of leadgate records it."""
    k, r = store.keys, store._redis
    if on:
        r.hset(k.customer("acme"), mapping={"blocked": "credentials: MEGA 401",
                                             "parked:acme-meta": 1, "dead": 3})
        r.hset(k.event("evt_old"), mapping={"received_at": int((time.time() - 3600) * 1000)})
        r.rpush(k.buffer("globex"), "evt_old")
        r.hset(k.source_health, mapping={
            "acme-meta": json.dumps({"state": "token_expiring", "days_left": 3}),
            "other-meta": json.dumps({"state": "not_subscribed"})})
        r.hset(k.reconcile("acme-meta"), "last_missed", 4)
    else:
        r.hdel(k.customer("acme"), "blocked", "parked:acme-meta")
        r.delete(k.buffer("globex"))
        r.hset(k.source_health, mapping={
            "acme-meta": json.dumps({"state": "healthy"}),
            "other-meta": json.dumps({"state": "healthy"})})
        r.hset(k.reconcile("acme-meta"), "last_missed", 0)
        r.hset(k.alert_marks, "dead_at:acme", 0)       # an hour without a new dead letter


def test_each_kind_fires_once_per_change_of_state_across_workers(
        meta_config: Config, receiver: Receiver) -> None:
    store = store_of(meta_config)
    workers = [Evaluator(meta_config, store) for _ in range(4)]
    assert workers[0].evaluate() == []                  # baseline: nothing wrong
    set_every_condition(store, on=True)
    fired: list[list[str]] = []
    threads = [threading.Thread(target=lambda w=w: fired.append(w.evaluate())) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    kinds = sorted(f for batch in fired for f in batch)
    assert kinds == sorted(["customer_blocked:acme", "route_held:acme-meta",
                            "dead_letters:acme", "stale_backlog:globex",
                            "token_expiring:acme-meta", "source_unhealthy:other-meta",
                            "missed_leads:acme-meta"])
    assert workers[1].evaluate() == []
    set_every_condition(store, on=False)
    assert sorted(workers[2].evaluate()) == kinds and workers[3].evaluate() == []
    sender = AlertSender(meta_config, store)
    while sender.send_due():
        pass
    got = receiver.webhooks()
    assert sorted(a["type"] for a in got) == ["alert.firing"] * 7 + ["alert.resolved"] * 7
    assert len({a["webhook-id"] for a in got}) == 14 and len(receiver.slack()) == 14
    assert not any("@" in text or "401" in text for text in receiver.slack())


def test_an_unreachable_target_is_retried_and_delivers_later(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        receiver: Receiver) -> None:
    config_dict["alerts"] = {"webhook_url": "http://127.0.0.1:9/nothing-listens",
                             "webhook_secret": SECRET, "timeout_s": 0.5}
    config = build(config_dict, redis_server.url)
    store = store_of(config)
    redis_client.hset(store.keys.customer("acme"), "blocked", "credentials")
    Evaluator(config, store).evaluate()
    started = time.monotonic()
    assert AlertSender(config, store).send_due() == 0
    assert time.monotonic() - started < 2                  # short timeouts, no waiting around
    (delivery,) = redis_client.zrange(store.keys.alerts_pending, 0, -1)
    assert redis_client.hget(store.keys.alert(delivery.decode()), "attempts") == b"1"


def queue_three_alerts(config: Config, clock: Any) -> Any:
    """Three conditions, so three alerts for each target."""
    store = store_of(config)
    for name in ("acme", "globex", "initech"):
        store._redis.hset(store.keys.customer(name), "blocked", "credentials")
    assert len(Evaluator(config, store, clock=clock).evaluate()) == 3
    return store


def test_an_alert_that_cannot_be_signed_does_not_stop_the_others(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    config_dict["customers"]["initech"] = {**config_dict["customers"]["acme"]}
    config = build(alerting(config_dict, receiver), redis_server.url)
    # a secret that no longer loads (see test_config), set behind the loader's back
    config = dataclasses.replace(config, alerts=dataclasses.replace(
        config.alerts, webhook_secret="whsec_abcdefghi"))
    store = queue_three_alerts(config, time.time)
    assert AlertSender(config, store).send_due() == 3                 # Slack's three
    assert len(receiver.slack()) == 3 and receiver.webhooks() == []
    attempts = sorted(redis_client.hget(store.keys.alert(d.decode()), "attempts")
                      for d in redis_client.zrange(store.keys.alerts_pending, 0, -1))
    assert attempts == [b"0", b"0", b"1"]          # tried once this round, the others wait
    assert "(Error)" in caplog.text and "abcdefghi" not in caplog.text


def test_a_broken_target_is_backed_off_then_dropped_and_never_holds_up_the_other(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        receiver: Receiver, caplog: pytest.LogCaptureFixture) -> None:
    config_dict["customers"]["initech"] = {**config_dict["customers"]["acme"]}
    config = build(alerting(config_dict, receiver), redis_server.url)
    receiver.failing = {"/hook"}
    now = [time.time()]
    store = queue_three_alerts(config, lambda: now[0])
    sender = AlertSender(config, store, clock=lambda: now[0])
    assert sender.send_due() == 3 and len(receiver.slack()) == 3
    hooks = lambda: [g for g in receiver.got if g[0] == "/hook"]       # noqa: E731
    assert len(hooks()) == 1                          # one try of the broken target a round
    assert sender.send_due() == 0 and len(hooks()) == 1             # backed off: not yet due
    waits = []
    while redis_client.zcard(store.keys.alerts_pending) and len(waits) < 1000:
        due = redis_client.zrange(store.keys.alerts_pending, 0, 0, withscores=True)[0][1]
        waits.append(due / 1000 - now[0])
        now[0] = due / 1000 + 0.001
        sender.send_due()
    assert redis_client.zcard(store.keys.alerts_pending) == 0
    assert waits[0] < waits[3] <= defaults.ALERT_BACKOFF_CAP_S       # the waits grow, capped
    assert now[0] - time.time() > defaults.ALERT_MAX_AGE_S        # dropped once too old
    assert caplog.text.count("dropped after") == 3 and "HTTP 500" in caplog.text
    assert not redis_client.keys("*alert:alrt_*")


@pytest.mark.timeout(90)
def test_an_alert_pending_when_its_worker_is_killed_is_sent_once(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        receiver: Receiver, tmp_path: Path, megasim: Sim) -> None:
    alerting(config_dict, receiver)
    del config_dict["alerts"]["slack_webhook_url"]
    config = build(config_dict, redis_server.url)
    store = store_of(config)
    redis_client.hset(store.keys.customer("globex"), "blocked", "credentials: MEGA 401")
    path = tmp_path / "leadgate.toml"
    path.write_text(to_toml(config_dict))
    receiver.mode = "hang"                 # the worker's POST arrives and waits for an answer
    worker = subprocess.Popen([sys.executable, "-m", "gateway.cli", "worker", "--config",
                               str(path)], cwd=ROOT, env={**os.environ, "REDIS_URL":
                                                          redis_server.url},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert receiver.arrived.wait(30), "the worker never sent the alert"
        # the alert target hangs: leads are delivered all the same
        intake = create_app(config).test_client()
        assert intake.post(f"/hooks/acme-form/{URL_TOKEN}", json={
            "name": "Ada Lovelace", "email": "ada@example.com"}).status_code == 202
        deadline = time.monotonic() + 10
        while not megasim.leads() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(megasim.leads()) == 1
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    receiver.mode = "ok"
    receiver.release.set()                 # the killed worker's request ends unanswered
    assert receiver.got == [] and redis_client.zcard(store.keys.alerts_pending) == 1
    other = AlertSender(config, store)         # another worker, once the lease is over
    deadline = time.monotonic() + 15
    while not receiver.got and time.monotonic() < deadline:
        other.send_due()
        time.sleep(0.2)
    for _ in range(3):
        other.send_due()
    (alert,) = receiver.webhooks()
    assert alert["data"]["kind"] == "customer_blocked" and alert["type"] == "alert.firing"
    assert redis_client.zcard(store.keys.alerts_pending) == 0
    assert Evaluator(config, store).evaluate() == []           # not fired a second time


def test_the_monitor_loop_survives_a_failing_step() -> None:
    from workers.monitors import every

    stopping, calls = threading.Event(), []

    def broken() -> None:
        calls.append("broken")
        raise RuntimeError("boom")

    def fine() -> None:
        calls.append("fine")
        if calls.count("fine") == 3:
            stopping.set()

    every(stopping, [(broken, 0.0), (fine, 0.0)], 0.01)
    assert calls.count("fine") == 3 and calls.count("broken") == 3


NOW = 1_800_000_000
VALID = {"is_valid": True, "scopes": ["leads_retrieval"], "app_id": "42"}
OURS = [{"id": "42", "subscribed_fields": ["leadgen"]}]


@pytest.mark.parametrize(("token", "apps", "state", "days"), [
    ({**VALID, "expires_at": 0}, OURS, "healthy", None),
    ({**VALID, "expires_at": NOW + 8 * 86400}, OURS, "healthy", 8),
    ({**VALID, "expires_at": NOW + 6 * 86400 + 5}, OURS, "token_expiring", 6),
    ({**VALID, "expires_at": NOW - 1}, OURS, "token_invalid", -1),
    ({**VALID, "is_valid": False}, None, "token_invalid", None),
    ({**VALID, "scopes": ["pages_show_list"]}, OURS, "permission_missing", None),
    (VALID, [{"id": "42", "subscribed_fields": ["feed"]}], "not_subscribed", None),
    (VALID, [{"id": "7", "subscribed_fields": ["leadgen"]}], "not_subscribed", None),
    (VALID, None, "healthy", None),                        # no page_id: nothing to ask
])
def test_health_states_from_metas_answers(token: dict[str, Any], apps: Any, state: str,
                                          days: int | None) -> None:
    from workers.meta.health import assess

    result = assess(token, apps, NOW)
    assert (result["state"], result["days_left"]) == (state, days)


def test_reconcile_backoff_doubles_to_an_hour() -> None:
    from workers.reconcile import retry_in_s

    assert [retry_in_s(n, rand=lambda: 0.5) for n in (1, 2, 3, 20)] == [60, 120, 240, 3600]
