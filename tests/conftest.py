"""Fixtures: a real Redis server, megasim over real HTTP, the app, and a worker in burst mode."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from werkzeug.serving import make_server
from werkzeug.wsgi import ClosingIterator

from bench.harness import free_port
from gateway.config import Config, config_from_dict
from gateway.local.redis_server import RedisServer
from gateway.store.metrics import Metrics
from gateway.web.app import create_app
from gateway.web.context import app_context
from megasim.app import create_app as create_megasim
from megasim.config import config_from_dict as sim_config
from workers.context import WorkerContext, bind, build_context
from workers.runtime import make_worker

ACME_ID = "11111111-1111-4111-8111-111111111111"
GLOBEX_ID = "22222222-2222-4222-8222-222222222222"
ACME_TOKEN = "mega_" + "a" * 64
GLOBEX_TOKEN = "mega_" + "b" * 64
READONLY_TOKEN = "mega_" + "c" * 64
OWNER_ID = "0b8d2f7e-1c3a-4d5b-9e6f-7a8b9c0d1e2f"
URL_TOKEN = "test-url-token-0123456789"
HMAC_SECRET = "test-hmac-secret"


@pytest.fixture(autouse=True)
def stops_what_it_starts(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Nothing a test starts runs on into the next one.

    The metrics of every Store the test built (apps, worker contexts, CLI commands run in
    process) are closed: their last counts are written now, not by a background thread a
    second into a later test that snapshots or counts the session Redis. A dispatcher or
    monitor thread still running after the test's own teardown fails it.
    """
    made: list[Metrics] = []
    init = Metrics.__init__

    def tracked(self: Metrics, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(Metrics, "__init__", tracked)
    before = set(threading.enumerate())
    yield
    for metrics in made:
        metrics.close()
    left = sorted(t.name for t in threading.enumerate()
                  if t not in before and t.name.startswith("leadgate"))
    assert not left, f"the test left leadgate threads running: {', '.join(left)}"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(Path(tmp_path_factory.mktemp("redis")), port=free_port(),
                         persistent=False)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_client(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.flushall()
    client.close()


def stored_keys(client: redis.Redis) -> list[bytes]:
    """leadgate's keys, but the metrics hashes and the charts' hourly history (a rejected
    request is counted, not stored)."""
    return sorted(k for k in client.scan_iter("leadgate:*")
                  if not k.startswith((b"leadgate:metrics", b"leadgate:history")))


class InFlight:
    """WSGI middleware counting the requests still being answered (a slow or trickled answer
    goes on after its client gave up)."""

    def __init__(self, app: Any):
        self.app, self.count, self.lock = app, 0, threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        with self.lock:
            self.count += 1
        try:
            return ClosingIterator(self.app(environ, start_response), self._done)
        except BaseException:
            self._done()
            raise

    def _done(self) -> None:
        with self.lock:
            self.count -= 1


class Sim:
    """megasim served on a real port, with helpers that use its HTTP inspection API."""

    def __init__(self, app: Any, url: str, in_flight: InFlight | None = None):
        self.app, self.url, self.in_flight = app, url, in_flight
        self.http = httpx.Client(base_url=url, timeout=10)

    def settle(self, timeout_s: float = 30.0) -> None:
        """Wait until megasim has answered every request it got (a test's slow or trickled
        answer is logged when it ends: it must not end in the next test)."""
        if self.in_flight is None:
            return
        deadline = time.monotonic() + timeout_s
        while self.in_flight.count:
            if time.monotonic() > deadline:
                raise AssertionError(f"megasim is still answering {self.in_flight.count} "
                                     f"request(s) after {timeout_s} s")
            time.sleep(0.01)

    def leads(self, customer_id: str | None = None) -> list[dict[str, Any]]:
        params = {"customer_id": customer_id} if customer_id else {}
        return self.http.get("/_megasim/leads", params=params).json()["leads"]  # type: ignore

    def requests(self) -> list[dict[str, Any]]:
        return self.http.get("/_megasim/requests").json()["requests"]  # type: ignore

    def faults(self, **settings: Any) -> dict[str, Any]:
        response = self.http.put("/_megasim/faults", json=settings)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def reset(self) -> None:
        self.http.post("/_megasim/reset").raise_for_status()

    def hubspot(self, **change: Any) -> dict[str, Any]:
        """Set up the HubSpot CRM API stand-in (tokens, contacts, deleted, denied...)."""
        response = self.http.patch("/_hubspot", json=change)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def graph(self, **change: Any) -> dict[str, Any]:
        """Set up the Graph API stand-in (tokens, answers, deleted, throttle_next...)."""
        response = self.http.patch("/_graph", json=change)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]


SIM_TENANTS = {
    "limits": {"window_s": 60, "single_per_window": 10_000, "bulk_per_window": 10_000},
    "customers": [
        {"id": ACME_ID, "name": "acme", "keys": [
            {"token": ACME_TOKEN},
            {"token": READONLY_TOKEN, "scopes": ["public_api:leads:read"]}]},
        {"id": GLOBEX_ID, "name": "globex", "keys": [{"token": GLOBEX_TOKEN}]},
    ],
}


@pytest.fixture(scope="session")
def megasim_server() -> Iterator[Sim]:
    app = create_megasim(sim_config(SIM_TENANTS), seed=7)
    in_flight = InFlight(app)
    server = make_server("127.0.0.1", 0, in_flight, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Sim(app, f"http://127.0.0.1:{server.server_port}", in_flight)
    server.shutdown()


@pytest.fixture
def megasim(megasim_server: Sim) -> Iterator[Sim]:
    megasim_server.settle()
    megasim_server.reset()
    yield megasim_server
    megasim_server.settle()
    megasim_server.reset()


def base_config(redis_url: str, mega_url: str, **customer: Any) -> dict[str, Any]:
    """A config dict: customers acme and globex in megasim, a JSON/form route per auth scheme."""
    acme = {"customer_id": ACME_ID, "token": ACME_TOKEN, "linger_ms": 0, **customer}
    return {
        "server": {"admin_token": "test-admin-token-0123456789abcdef"},
        "mega": {"base_url": mega_url, "timeout_s": 2},
        "customers": {
            "acme": acme,
            "globex": {"customer_id": GLOBEX_ID, "token": GLOBEX_TOKEN, "linger_ms": 0},
        },
        "routes": {
            "acme-form": {"customer": "acme", "source": "generic", "url_token": URL_TOKEN,
                          "lead": {"source_platform": "direct", "stage_slug": "new"},
                          "fields": {"budget": "custom_fields.budget",
                                     "data.budget": "custom_fields.budget"}},
            "acme-signed": {"customer": "acme", "source": "generic", "hmac_secret": HMAC_SECRET,
                            "event_id": "data.id",
                            "lead": {"source_platform": "referral"},
                            "fields": {"data.contact.name": "contact_name",
                                       "data.contact.mail": "contact_email",
                                       "data.timeline": "custom_fields.timeline"}},
            "globex-form": {"customer": "globex", "source": "generic", "url_token": URL_TOKEN},
        },
    }


@pytest.fixture
def config_dict(redis_server: RedisServer, megasim: Sim) -> dict[str, Any]:
    return base_config(redis_server.url, megasim.url)


def build(config: dict[str, Any], redis_url: str) -> Config:
    return config_from_dict(config, env={"REDIS_URL": redis_url})


@pytest.fixture
def config(config_dict: dict[str, Any], redis_server: RedisServer,
           redis_client: redis.Redis) -> Config:
    return build(config_dict, redis_server.url)


@pytest.fixture
def app(config: Config) -> Iterator[Any]:
    made = create_app(config)
    yield made
    app_context(made).close()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


class Drainer:
    """Runs the real dispatcher and an RQ worker in burst mode until nothing is left."""

    def __init__(self, ctx: WorkerContext):
        self.ctx = ctx
        self.worker, self.dispatcher = make_worker(ctx)
        # RQ's stop-job channel is not what the tests are about, and its pubsub thread can hold
        # the end of a burst for 60 s (a race in redis-py's PubSubWorkerThread at unsubscribe)
        self.worker.subscribe = lambda: None  # type: ignore[method-assign]

    def idle(self) -> bool:
        r, k = self.ctx.redis, self.ctx.store.keys
        busy = r.zcard(k.due) or r.zcard(k.leases) or any(
            r.scan_iter(match=f"{k.prefix}:buffer:*")) or any(
            r.scan_iter(match=f"{k.prefix}:batch:*")) or any(
            r.scan_iter(match=f"{k.prefix}:replays:*"))
        return not busy

    def step(self) -> int:
        """One dispatcher pass and the jobs it enqueued; returns how many flushes ran."""
        claimed = self.dispatcher.dispatch_once()
        if claimed:
            self.worker.work(burst=True, logging_level="WARNING")
        return claimed

    def skip_waits(self) -> None:
        """Time passes: every scheduled flush (backoff, hold, pause) is due now."""
        due = self.ctx.store.keys.due
        for member in self.ctx.redis.zrange(due, 0, -1):
            self.ctx.redis.zadd(due, {member: 0})
        for key in self.ctx.redis.scan_iter(f"{self.ctx.store.keys.prefix}:customer:*"):
            for name in self.ctx.redis.hkeys(key):
                if name.startswith(b"parked:"):
                    self.ctx.redis.hset(key, name, 0)

    def __call__(self, *, timeout_s: float = 20.0, skip_waits: bool = False) -> None:
        deadline = time.monotonic() + timeout_s
        while not self.idle():
            if time.monotonic() > deadline:
                raise AssertionError("the pipeline did not drain in time")
            if skip_waits:
                self.skip_waits()
            if not self.step():
                time.sleep(0.02)


@pytest.fixture
def drain(config: Config) -> Iterator[Drainer]:
    ctx = build_context(config)
    bind(ctx)
    yield Drainer(ctx)
    bind(None)
    ctx.close()


@pytest.fixture
def drain_factory() -> Iterator[Any]:
    """Drainers for configs a test builds itself."""
    made: list[WorkerContext] = []

    def factory(config: Config) -> Drainer:
        ctx = build_context(config)
        bind(ctx)
        made.append(ctx)
        return Drainer(ctx)

    yield factory
    bind(None)
    for ctx in made:
        ctx.close()


def to_toml(config: dict[str, Any]) -> str:
    """A config dict as a TOML file (for commands that read one)."""
    lines = []

    def emit(prefix: str, table: dict[str, Any]) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f'"{k}" = ' + (f'"{v}"' if isinstance(v, str) else str(v).lower()))
        for k, v in table.items():
            if isinstance(v, dict):
                emit(f'{prefix}."{k}"', v)

    for section, table in config.items():
        emit(section, table)
    return "\n".join(lines) + "\n"


@pytest.fixture
def provider_app(config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
                 drain_factory: Any, megasim: Sim) -> tuple[Any, Any]:
    """An app with one route per provider (acme-<source>), clock at samples.NOW."""
    from tests.samples import (
        FIELD_MAPS,
        HUBSPOT_CONTACT,
        HUBSPOT_PROPERTIES,
        HUBSPOT_TOKEN,
        LEAD_ID,
        META_ANSWERS,
        META_TOKEN,
        NOW,
        SAMPLES,
        SETTINGS,
    )

    megasim.graph(tokens=[META_TOKEN], answers={str(LEAD_ID): META_ANSWERS})
    megasim.hubspot(tokens=[HUBSPOT_TOKEN], contacts={str(HUBSPOT_CONTACT): HUBSPOT_PROPERTIES})
    for source in SAMPLES:
        raw = dict(SETTINGS[source])
        if source == "meta_lead_ads":
            raw["graph_api_url"] = f"{megasim.url}/graph/v21.0"
        if source == "hubspot":
            raw["api_url"] = f"{megasim.url}/hubspot"
        config_dict["routes"][f"acme-{source}"] = {
            "customer": "acme", "source": source, **raw, "fields": FIELD_MAPS[source]}
    config = build(config_dict, redis_server.url)
    return create_app(config, clock=lambda: NOW).test_client(), drain_factory(config)


@pytest.fixture
def calls_app(config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
              drain_factory: Any, megasim: Sim) -> Any:
    """make(**route_changes) -> (client, drain): an app with the routes acme-callrail,
    acme-twilio and acme-mailgun (tests.samples.CALL_ROUTES, each updated by the change of the
    same name), clock at samples.NOW."""
    from tests.samples import CALL_ROUTES, NOW

    def make(**changes: dict[str, Any]) -> tuple[Any, Any]:
        for name, route in CALL_ROUTES.items():
            config_dict["routes"][name] = {**route, **changes.get(name.replace("-", "_"), {})}
        config = build(config_dict, redis_server.url)
        return create_app(config, clock=lambda: NOW).test_client(), drain_factory(config)

    return make
