"""Redis headroom and durability: a full Redis answers 503 and loses nothing, an evicting one
is refused at start, server.ack waits for the disk or a replica; memory shown and alerted."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner

from bench.harness import free_port
from gateway import defaults
from gateway.cli import cli
from gateway.errors import ConfigError, StoreFull
from gateway.local.redis_server import RedisServer
from gateway.store.headroom import check
from gateway.store.readmodel import translated
from gateway.web.app import create_app
from gateway.web.context import app_context
from tests.conftest import URL_TOKEN, Sim, build, to_toml
from tests.test_console import Clock, sign_in
from workers.alerts import Evaluator

FORM_URL = f"/hooks/acme-form/{URL_TOKEN}"
ADMIN = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}


@pytest.fixture
def server(redis_client: redis.Redis) -> Iterator[redis.Redis]:
    """The session server, put back as the other tests expect it whatever a test set."""
    yield redis_client
    redis_client.config_set("maxmemory", 0)
    redis_client.config_set("maxmemory-policy", "noeviction")
    redis_client.config_set("appendonly", "no")


def set_percent(server: redis.Redis, percent: float) -> None:
    """maxmemory such that the memory used now is this share of it."""
    server.config_set("maxmemory", int(server.info("memory")["used_memory"] * 100 / percent))


def leadgate(config_dict: dict[str, Any], redis_url: str, tmp_path: Path, *args: str,
             **env: str) -> Any:
    path = tmp_path / "leadgate.toml"
    path.write_text(to_toml(config_dict))
    return CliRunner().invoke(cli, [*args, "--config", str(path)],
                              env={"REDIS_URL": redis_url, "LEADGATE_ALLOW_EVICTION": "",
                                   **env})


def test_a_full_redis_answers_503_with_retry_after_and_loses_nothing(
        config: Any, drain: Any, megasim: Sim, server: redis.Redis) -> None:
    clock = Clock()
    app = create_app(config, clock=clock)
    client = app.test_client()
    try:
        accepted = [client.post(FORM_URL, json={"name": f"Before {i}"}) for i in range(20)]
        assert {r.status_code for r in accepted} == {202}
        # within the workers' reserve of the limit: the intake refuses new events
        room = defaults.MEMORY_RESERVE_MIN_MB * 1024 * 1024 * 3 // 4
        server.config_set("maxmemory", server.info("memory")["used_memory"] + room)
        clock.now += defaults.MEMORY_CHECK_S
        refused = [client.post(FORM_URL, json={"name": f"Full {i}"}) for i in range(5)]
        assert {r.status_code for r in refused} == {503}
        assert {r.headers["Retry-After"] for r in refused} == {"30"}
        assert "the event store is full" in refused[0].get_json()["error"]["message"]
        drain()                                 # still full: the workers deliver meanwhile
        names = sorted(lead["contact_name"] for lead in megasim.leads())
        assert names == sorted(f"Before {i}" for i in range(20))                # each once
        server.config_set("maxmemory", 0)                                       # freed
        clock.now += defaults.MEMORY_CHECK_S
        assert client.post(FORM_URL, json={"name": "After"}).status_code == 202
    finally:
        app_context(app).close()


def test_a_write_redis_refuses_for_memory_is_the_full_503(server: redis.Redis) -> None:
    server.config_set("maxmemory", server.info("memory")["used_memory"])
    with pytest.raises(StoreFull) as refused, translated():
        server.set("leadgate:probe", "x" * 10_000)
    assert refused.value.status_code == 503 and refused.value.retry_after_s == 30


def test_an_evicting_redis_stops_the_worker_at_start(
        config_dict: dict[str, Any], redis_server: RedisServer, server: redis.Redis,
        tmp_path: Path) -> None:
    server.config_set("maxmemory-policy", "allkeys-lru")
    result = leadgate(config_dict, redis_server.url, tmp_path, "worker", "--burst")
    assert result.exit_code == 1
    assert "maxmemory-policy is allkeys-lru" in result.output
    assert "heroku redis:maxmemory --policy noeviction" in result.output


def test_an_evicting_redis_stops_web_before_gunicorn(
        config_dict: dict[str, Any], redis_server: RedisServer, server: redis.Redis,
        tmp_path: Path) -> None:
    """In a process of its own: were it not stopped, gunicorn would serve until killed."""
    server.config_set("maxmemory-policy", "volatile-lru")
    path = tmp_path / "leadgate.toml"
    path.write_text(to_toml(config_dict))
    env = {**os.environ, "REDIS_URL": redis_server.url, "LEADGATE_ALLOW_EVICTION": "",
           "PORT": str(free_port())}
    done = subprocess.run([sys.executable, "-m", "gateway.cli", "web", "--config", str(path)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "maxmemory-policy is volatile-lru" in done.stderr


def test_leadgate_allow_eviction_runs_anyway_with_a_warning_there_and_in_status(
        config_dict: dict[str, Any], redis_server: RedisServer, server: redis.Redis,
        tmp_path: Path) -> None:
    server.config_set("maxmemory-policy", "volatile-lru")
    result = leadgate(config_dict, redis_server.url, tmp_path, "worker", "--burst",
                      LEADGATE_ALLOW_EVICTION="1")
    assert result.exit_code == 0, result.output
    assert "warning: Redis maxmemory-policy is volatile-lru" in result.output
    status = leadgate(config_dict, redis_server.url, tmp_path, "status", "--no-check")
    assert "warning: Redis maxmemory-policy is volatile-lru" in status.output


def test_fsync_is_refused_while_appendonly_is_off_and_waits_for_the_disk_when_on(
        config_dict: dict[str, Any], redis_server: RedisServer, server: redis.Redis,
        tmp_path: Path) -> None:
    config_dict["server"]["ack"] = "fsync"
    result = leadgate(config_dict, redis_server.url, tmp_path, "worker", "--burst")
    assert result.exit_code == 1
    assert 'server.ack = "fsync" needs the server\'s appendonly on' in result.output
    server.config_set("appendonly", "yes")
    assert leadgate(config_dict, redis_server.url, tmp_path, "worker", "--burst"
                    ).exit_code == 0
    app = create_app(build(config_dict, redis_server.url))
    try:
        calls = waitaof_calls(server)
        response = app.test_client().post(FORM_URL, json={"name": "On Disk"})
        assert response.status_code == 202
        assert waitaof_calls(server) == calls + 1
    finally:
        app_context(app).close()


def waitaof_calls(server: redis.Redis) -> int:
    return int(server.info("commandstats").get("cmdstat_waitaof", {}).get("calls", 0))


def test_replica_ack_short_of_a_replica_is_503_and_the_resend_too(
        config_dict: dict[str, Any], redis_server: RedisServer, server: redis.Redis) -> None:
    config_dict["server"].update(ack="replica", ack_timeout_ms=50)
    app = create_app(build(config_dict, redis_server.url))
    try:
        first = app.test_client().post(FORM_URL, json={"id": "r1", "name": "No Replica"})
        assert first.status_code == 503 and first.headers["Retry-After"] == "5"
        assert "not on a replica within 50 ms" in first.get_json()["error"]["message"]
        again = app.test_client().post(FORM_URL, json={"id": "r1", "name": "No Replica"})
        assert again.status_code == 503 and again.headers["Retry-After"] == "5"
        assert len(list(server.scan_iter("leadgate:event:*"))) == 1     # stored once, kept
    finally:
        app_context(app).close()


def test_replica_ack_is_202_once_a_replica_has_the_event(
        config_dict: dict[str, Any], redis_server: RedisServer, server: redis.Redis,
        tmp_path: Path) -> None:
    replica = RedisServer(tmp_path / "replica", port=free_port(), persistent=False)
    replica.start()
    app = None
    try:
        follower = redis.Redis.from_url(replica.url)
        server.config_set("repl-diskless-sync-delay", 0)       # the first sync starts at once
        follower.execute_command("REPLICAOF", "127.0.0.1", str(redis_server.port))
        wait_until(lambda: follower.info("replication")["master_link_status"] == "up")
        config_dict["server"].update(ack="replica", ack_timeout_ms=5000)
        app = create_app(build(config_dict, redis_server.url))
        response = app.test_client().post(FORM_URL, json={"id": "r2", "name": "Replicated"})
        assert response.status_code == 202, response.get_json()
        assert follower.exists(f"leadgate:event:{response.get_json()['events'][0]}")
        follower.close()
    finally:
        if app is not None:
            app_context(app).close()
        replica.stop()
        server.config_set("repl-diskless-sync-delay", 5)


def wait_until(condition: Any, timeout_s: float = 20.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the replica did not connect"
        time.sleep(0.05)


@pytest.mark.parametrize(("ack", "server_version", "named"), [
    ("fsync", "7.0.15", "Redis 7.0.15"), ("fsync", "6.2.6", "Redis 6.2.6")])
def test_an_ack_the_server_is_too_old_for_stops_naming_its_version(
        config: Any, ack: str, server_version: str, named: str) -> None:
    config = replace(config, server=replace(config.server, ack=ack))
    info = {"redis_version": server_version, "aof_enabled": "1",
            "maxmemory_policy": "noeviction"}
    with pytest.raises(ConfigError, match=f"needs Redis or Valkey 7.2 or later.*{named}"):
        check(info, config, allow_eviction=False)


def test_a_server_recent_enough_passes_the_start_check(config: Any,
                                                       server: redis.Redis) -> None:
    server.config_set("appendonly", "yes")
    config = replace(config, server=replace(config.server, ack="fsync"))
    assert check(server.info(), config, allow_eviction=False) == []


def test_memory_alert_fires_at_80_again_at_95_and_resolves_under_70(
        config: Any, server: redis.Redis) -> None:
    from gateway.store.store import Store

    evaluator = Evaluator(config, Store(server))
    set_percent(server, 85)
    assert evaluator.evaluate() == ["redis_memory:80%"]
    set_percent(server, 75)
    assert evaluator.evaluate() == []                  # between 70 and 80: still firing
    set_percent(server, 97)
    assert evaluator.evaluate() == ["redis_memory:95%"]
    set_percent(server, 50)
    assert sorted(evaluator.evaluate()) == ["redis_memory:80%", "redis_memory:95%"]
    assert server.hkeys("leadgate:alerts:state") == []


def test_memory_shown_in_status_metrics_and_console(
        config_dict: dict[str, Any], redis_server: RedisServer, server: redis.Redis,
        tmp_path: Path) -> None:
    status = leadgate(config_dict, redis_server.url, tmp_path, "status", "--no-check")
    assert "limit unknown (maxmemory is 0; set redis.max_memory_mb" in status.output
    config_dict["redis"] = {"max_memory_mb": 1024}
    app = create_app(build(config_dict, redis_server.url))
    try:
        client = app.test_client()
        metrics = client.get("/metrics", headers=ADMIN).text
        assert "leadgate_redis_memory_used_bytes " in metrics
        shown_max = re.search(r"^leadgate_redis_memory_max_bytes (\S+)$", metrics, re.M)
        assert shown_max and float(shown_max.group(1)) == 1024 ** 3     # redis.max_memory_mb
        set_percent(server, 40)
        shown = leadgate(config_dict, redis_server.url, tmp_path, "status", "--no-check")
        assert re.search(r"redis memory: [\d.]+ MB of [\d.]+ MB \([34]\d%, limit from "
                         r"maxmemory\)", shown.output), shown.output
        assert sign_in(client).status_code == 302
        overview = client.get("/console/overview").text
        assert '<meter min="0" max="100" low="70" high="80"' in overview
        assert re.search(r"\([34]\d%, limit from maxmemory\)", overview)
    finally:
        app_context(app).close()


def test_the_import_waits_as_server_ack_says(
        config_dict: dict[str, Any], redis_server: RedisServer, server: redis.Redis,
        tmp_path: Path) -> None:
    rows = tmp_path / "leads.csv"
    rows.write_text("name,email\nAda Lovelace,ada@example.com\nAlan Turing,alan@example.com\n")
    config_dict["server"].update(ack="replica", ack_timeout_ms=50)
    short = leadgate(config_dict, redis_server.url, tmp_path, "import", str(rows),
                     "--customer", "acme", "--no-wait")
    assert short.exit_code == 1
    assert "not on a replica within 50 ms" in short.output
    assert len(list(server.scan_iter("leadgate:event:*"))) == 2      # stored all the same


def test_a_runtime_evicting_policy_raises_redis_config_and_resolves_when_set_back(
        config_dict: dict[str, Any], redis_server: RedisServer, server: redis.Redis,
        tmp_path: Path) -> None:
    """The worker's alert evaluation (every ALERT_EVAL_S, ticked here by the test) reads the
    policy from INFO: a CONFIG SET after start is seen, not only the policy at start."""
    assert defaults.ALERT_EVAL_S <= 30                 # raised within 30 s of the change
    config_dict["alerts"] = {"webhook_url": "https://alerts.example.com/hook",
                             "webhook_secret": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    config = build(config_dict, redis_server.url)
    from gateway.store.store import Store

    evaluator = Evaluator(config, Store(server))
    assert evaluator.evaluate() == []
    server.config_set("maxmemory-policy", "allkeys-lru")
    assert evaluator.evaluate() == ["redis_config:maxmemory-policy"]
    assert evaluator.evaluate() == []                  # one alert per change, not per tick
    body = next(server.hget(k, "body") for k in server.scan_iter("leadgate:alert:*")).decode()
    assert '"kind": "redis_config"' in body and "maxmemory-policy is allkeys-lru" in body
    assert "whsec_" not in body
    status = leadgate(config_dict, redis_server.url, tmp_path, "status", "--no-check")
    assert "warning: Redis maxmemory-policy is allkeys-lru" in status.output
    assert "alerts firing: redis_config:maxmemory-policy" in status.output
    app = create_app(config)
    try:
        client = app.test_client()
        assert sign_in(client).status_code == 302
        assert ('<p class="redis-config alerted">warning: Redis maxmemory-policy is '
                'allkeys-lru') in client.get("/console/overview").text
        server.config_set("maxmemory-policy", "noeviction")
        assert evaluator.evaluate() == ["redis_config:maxmemory-policy"]       # resolved
        assert server.hkeys("leadgate:alerts:state") == []
        assert "redis-config" not in client.get("/console/overview").text
    finally:
        app_context(app).close()


def test_allow_eviction_shows_an_evicting_policy_without_alerting(
        config_dict: dict[str, Any], redis_server: RedisServer, server: redis.Redis,
        tmp_path: Path) -> None:
    from gateway.config import config_from_dict
    from gateway.store.store import Store

    config = config_from_dict(config_dict, env={"REDIS_URL": redis_server.url,
                                                "LEADGATE_ALLOW_EVICTION": "1"})
    server.config_set("maxmemory-policy", "allkeys-lfu")
    assert Evaluator(config, Store(server)).evaluate() == []
    status = leadgate(config_dict, redis_server.url, tmp_path, "status", "--no-check",
                      LEADGATE_ALLOW_EVICTION="1")
    assert ("warning: Redis maxmemory-policy is allkeys-lfu: it may drop queued leads and "
            "dedup keys without a word; set it to noeviction (shown, not alerted: "
            "LEADGATE_ALLOW_EVICTION=1)") in status.output


def test_appendonly_turned_off_under_fsync_alerts_and_the_intake_answers_503_meanwhile(
        config_dict: dict[str, Any], redis_server: RedisServer, server: redis.Redis) -> None:
    from gateway.store.store import Store

    server.config_set("appendonly", "yes")
    config_dict["server"]["ack"] = "fsync"
    config = build(config_dict, redis_server.url)
    evaluator, app = Evaluator(config, Store(server)), create_app(config)
    try:
        client = app.test_client()
        assert evaluator.evaluate() == []
        assert client.post(FORM_URL, json={"id": "a1", "name": "On Disk"}).status_code == 202
        server.config_set("appendonly", "no")
        assert evaluator.evaluate() == ["redis_config:appendonly"]
        refused = client.post(FORM_URL, json={"id": "a2", "name": "Not On Disk"})
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
        assert client.post(FORM_URL, json={"id": "a1", "name": "On Disk"}).status_code == 503
        server.config_set("appendonly", "yes")
        aof_ready(server)
        assert evaluator.evaluate() == ["redis_config:appendonly"]             # resolved
        assert client.post(FORM_URL, json={"id": "a2", "name": "Not On Disk"}
                           ).status_code == 200                  # stored before: duplicate
    finally:
        app_context(app).close()


def aof_ready(server: redis.Redis) -> None:
    wait_until(lambda: (info := server.info("persistence"))["aof_enabled"] == 1
               and info["aof_rewrite_in_progress"] == 0)
