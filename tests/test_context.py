"""What a worker process keeps for its lifetime (workers/context.py): clients built from the
config, closed together, and the one context jobs find."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis

from gateway.config import Config, config_from_dict
from gateway.errors import ConfigError
from gateway.local.redis_server import RedisServer
from gateway.store.metrics import series
from tests.conftest import ACME_ID, ACME_TOKEN, Sim
from workers.context import WorkerContext, bind, build_context, current


@pytest.fixture
def ctx(config: Config) -> Iterator[WorkerContext]:
    made = build_context(config, clock=lambda: 1_234.5)
    yield made
    made.close()


def test_the_context_holds_clients_built_from_the_config(ctx: WorkerContext,
                                                         redis_client: redis.Redis) -> None:
    ctx.redis.set("leadgate:probe", "1")
    assert redis_client.get("leadgate:probe") == b"1"
    assert ctx.store.redis is ctx.redis and ctx.store.clock() == 1_234.5
    assert ctx.clock() == 1_234.5
    assert ctx.mega.timeout_s == 2                  # the tests' config: [mega] timeout_s
    assert set(ctx.fetchers) == {"meta_lead_ads"}
    assert ctx.fetchers["meta_lead_ads"].timeout_s == 2


def test_closing_stops_its_threads_writes_the_last_counts_and_closes_clients(
        config: Config, redis_client: redis.Redis) -> None:
    made = build_context(config)
    made.store.metrics.inc("leadgate_leads_dead", customer="acme", reason="rejected")
    made.close()
    assert made.stopping.is_set()
    field = series("leadgate_leads_dead", customer="acme", reason="rejected")
    assert redis_client.hget(made.store.keys.metrics, field) == b"1"
    assert made.mega._http.is_closed
    assert all(fetcher._http.is_closed for fetcher in made.fetchers.values())


def test_a_worker_without_redis_url_is_refused(config_dict: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="REDIS_URL is not set: `leadgate worker`"):
        build_context(config_from_dict(config_dict, env={}))


@pytest.fixture
def unbound() -> Iterator[None]:
    bind(None)
    yield
    bind(None)


def test_jobs_find_the_bound_context(ctx: WorkerContext, unbound: None) -> None:
    bind(ctx)
    assert current() is ctx


def test_a_plain_rq_worker_builds_its_context_once_from_the_config(
        unbound: None, monkeypatch: pytest.MonkeyPatch, redis_server: RedisServer,
        megasim: Sim, redis_client: redis.Redis) -> None:
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("LEADGATE_CONFIG_TOML", f"""
[server]
admin_token = "test-admin-token-0123456789abcdef"
[mega]
base_url = "{megasim.url}"
timeout_s = 3
[customers.acme]
customer_id = "{ACME_ID}"
token = "{ACME_TOKEN}"
""")
    built = current()
    try:
        assert current() is built
        assert built.mega.timeout_s == 3 and set(built.config.customers) == {"acme"}
        assert built.redis.ping()
    finally:
        built.close()
