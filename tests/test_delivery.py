"""DESIGN's delivery policy, row by row, and dead letters, status and replay."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner
from werkzeug.serving import make_server

from gateway.cli import cli
from gateway.domain.records import unpacked
from gateway.store.lease import Lease
from gateway.web.app import create_app
from megasim.app import create_app as create_megasim
from megasim.config import config_from_dict as sim_config
from tests.conftest import (
    ACME_ID,
    ACME_TOKEN,
    GLOBEX_ID,
    URL_TOKEN,
    Sim,
    base_config,
    build,
    to_toml,
)

FORM_URL = f"/hooks/acme-form/{URL_TOKEN}"
ADMIN = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}


def post(client: Any, n: int = 1, url: str = FORM_URL, name: str = "Lead") -> list[str]:
    ids = []
    for i in range(n):
        response = client.post(url, json={"name": f"{name} {i}"})
        assert response.status_code == 202, response.get_json()
        ids += response.get_json()["events"]
    return ids


def record(r: redis.Redis, eid: str) -> dict[str, str]:
    return unpacked(r.hgetall(f"leadgate:event:{eid}"))


@pytest.fixture
def tight_megasim() -> Iterator[Sim]:
    """megasim allowing one call per endpoint per 2-second window."""
    tenants = {"limits": {"window_s": 2, "single_per_window": 1, "bulk_per_window": 1},
               "customers": [{"id": ACME_ID, "keys": [{"token": ACME_TOKEN}]}]}
    server = make_server("127.0.0.1", 0, create_megasim(sim_config(tenants)), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Sim(server.app, f"http://127.0.0.1:{server.server_port}")
    server.shutdown()


@pytest.fixture
def tight(tight_megasim: Sim, redis_server: Any, redis_client: redis.Redis,
          drain_factory: Any) -> tuple[Any, Any, Sim]:
    config = build(base_config(redis_server.url, tight_megasim.url), redis_server.url)
    return create_app(config).test_client(), drain_factory(config), tight_megasim


def test_429_pauses_the_customer_until_retry_after_and_is_not_an_attempt(
        tight: tuple[Any, Any, Sim], redis_client: redis.Redis) -> None:
    client, drain, sim = tight
    sim.faults(script=["429"])
    (eid,) = post(client)
    started = time.monotonic()
    drain()
    assert time.monotonic() - started >= 0.9          # Retry-After is 1-2 s here
    assert [r["status"] for r in sim.requests()] == ["429", "201"]
    assert record(redis_client, eid)["attempts"] == "0"
    assert len(sim.leads()) == 1


def test_an_answer_whose_write_fails_keeps_its_rate_window_and_timeline_note(
        tight: tuple[Any, Any, Sim], redis_client: redis.Redis,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Redis drops the connection as MEGA's answer is written (one write for all of it): the
    failed flush's own record still holds what MEGA said of its window and the call on the
    event's timeline, and the lead is delivered once."""
    client, drain, sim = tight
    real, written = Lease.record, []

    def dropped_once(lease: Lease, answered: Any, *args: Any, **kwargs: Any) -> None:
        written.append(answered)
        if len(written) == 1:
            raise redis.ConnectionError("connection dropped while writing the answer")
        real(lease, answered, *args, **kwargs)

    monkeypatch.setattr(Lease, "record", dropped_once)
    (eid,) = post(client)
    drain.step()
    assert len(written) == 2 and written[0].outcomes and not written[1].outcomes
    state = redis_client.hgetall("leadgate:customer:acme")
    assert state[b"rl:single:remaining"] == b"0" and int(state[b"rl:single:reset_at"]) > 0
    assert '"kind":"mega"' in record(redis_client, eid)["log"]
    drain(skip_waits=True)
    assert len(sim.leads()) == 1 and record(redis_client, eid)["status"] == "delivered"


def test_remaining_zero_waits_for_the_reset_instead_of_collecting_a_429(
        tight: tuple[Any, Any, Sim]) -> None:
    client, drain, sim = tight
    post(client, 2)
    drain()
    post(client, 2, name="Second")
    drain()
    assert [r["status"] for r in sim.requests()] == ["200", "200"]
    assert len(sim.leads()) == 4


def test_credentials_hold_the_leads_and_resume_when_fixed(client: Any, drain: Any,
                                                          megasim: Sim,
                                                          redis_client: redis.Redis) -> None:
    megasim.http.delete(f"/_megasim/keys/{ACME_TOKEN}")
    held = post(client, 3)
    post(client, 2, url=f"/hooks/globex-form/{URL_TOKEN}")
    for _ in range(3):
        drain.step()
        drain.skip_waits()
    assert len(megasim.leads(GLOBEX_ID)) == 2         # another customer's trouble: no delay
    summary = client.get("/v1/customers/acme", headers=ADMIN).get_json()
    assert summary["state"] == "blocked" and summary["reason"].startswith("credentials")
    assert summary["in_flight"] == 3 and summary["dead"] == 0
    assert {record(redis_client, e)["status"] for e in held} == {"in_flight"}
    megasim.http.post("/_megasim/keys", json={"token": ACME_TOKEN, "customer_id": ACME_ID})
    drain(skip_waits=True)
    assert len(megasim.leads(ACME_ID)) == 3
    assert client.get("/v1/customers/acme", headers=ADMIN).get_json()["state"] == "idle"


def test_bulk_400_isolates_the_offending_row(client: Any, drain: Any, megasim: Sim,
                                             redis_client: redis.Redis) -> None:
    megasim.faults(reject_containing="Poison")
    ids = post(client, 3) + post(client, 1, name="Poison") + post(client, 4, name="More")
    drain()
    assert len(megasim.leads(ACME_ID)) == 7
    dead = [e for e in ids if record(redis_client, e)["status"] == "dead"]
    assert dead == [ids[3]]
    assert record(redis_client, ids[3])["dead_reason"] == "rejected"
    rejected = [r for r in megasim.requests() if r["status"] == "400"]
    assert len({r["idempotency_key"] for r in rejected}) == len(rejected) >= 2


def test_409_dead_letters_the_batch_with_the_reason(client: Any, drain: Any, megasim: Sim,
                                                    redis_client: redis.Redis) -> None:
    megasim.faults(script=["409"])
    ids = post(client, 3)
    drain()
    assert {record(redis_client, e)["dead_reason"] for e in ids} == {"conflict"}
    assert megasim.leads() == []


def test_failed_bulk_rows_become_dead_letters_with_megas_errors(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        megasim: Sim, drain_factory: Any) -> None:
    config_dict["routes"]["acme-form"]["lead"]["stage_slug"] = "not-in-pipeline"
    config = build(config_dict, redis_server.url)
    ids = post(create_app(config).test_client(), 2)
    drain_factory(config)()
    for eid in ids:
        rec = record(redis_client, eid)
        assert rec["status"] == "dead" and "pipeline" in rec["error"]


def test_transient_failures_past_max_age_expire_into_dead_letters(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        megasim: Sim, drain_factory: Any) -> None:
    config_dict["mega"]["max_age_hours"] = 0.0002      # 0.72 s
    config = build(config_dict, redis_server.url)
    megasim.faults(error_rate=1.0)
    (eid,) = post(create_app(config).test_client())
    drain_factory(config)(skip_waits=True)
    rec = record(redis_client, eid)
    assert rec["status"] == "dead" and rec["dead_reason"] == "expired"
    assert int(rec["attempts"]) >= 1 and "MEGA 500" in rec["error"]


def test_replay_of_an_unchanged_body_reuses_its_key(client: Any, drain: Any, megasim: Sim,
                                                    redis_client: redis.Redis) -> None:
    megasim.faults(script=["409"])
    (eid,) = post(client)
    drain()
    dead_key = megasim.requests()[0]["idempotency_key"]
    listing = client.get("/v1/dead-letters", headers=ADMIN).get_json()
    assert listing["total"] == 1 and listing["dead_letters"][0]["id"] == eid
    answer = client.post(f"/v1/dead-letters/{eid}/replay", headers=ADMIN)
    assert answer.status_code == 202 and answer.get_json()["key"] == dead_key
    assert answer.get_json()["key_reason"].startswith("body unchanged")
    drain()
    last = megasim.requests()[-1]
    assert last["status"] == "201" and last["idempotency_key"] == dead_key
    event = client.get(f"/v1/events/{eid}", headers=ADMIN).get_json()
    assert event["status"] == "delivered" and event["replays"] == 1
    assert event["replay_key"] == dead_key and "unchanged" in event["replay_reason"]
    assert client.get("/v1/dead-letters", headers=ADMIN).get_json()["total"] == 0


def test_status_and_dlq_commands(client: Any, drain: Any, megasim: Sim, redis_server: Any,
                                 config_dict: dict[str, Any], tmp_path: Path) -> None:
    megasim.faults(script=["409"])
    (eid,) = post(client)
    post(client, 1, url=f"/hooks/globex-form/{URL_TOKEN}")
    drain()
    path = tmp_path / "leadgate.toml"
    path.write_text(to_toml(config_dict))
    env = {"REDIS_URL": redis_server.url}
    runner = CliRunner()
    status = runner.invoke(cli, ["status", "--config", str(path)], env=env)
    assert status.exit_code == 0, status.output
    assert "dead letters: 1" in status.output and "globex" in status.output
    listed = runner.invoke(cli, ["dlq", "list", "--config", str(path)], env=env)
    assert eid in listed.output and "conflict" in listed.output
    shown = runner.invoke(cli, ["dlq", "show", eid, "--config", str(path)], env=env)
    assert '"dead_reason": "conflict"' in shown.output
    replayed = runner.invoke(cli, ["dlq", "replay", "--all", "--config", str(path)], env=env)
    assert replayed.output.strip().splitlines()[-1] == "replayed 1 of 1"
    assert "body unchanged" in replayed.output
    drain()
    assert len(megasim.leads(ACME_ID)) == 1


def test_new_token_has_at_least_128_bits() -> None:
    token = CliRunner().invoke(cli, ["new-token"]).output.strip()
    assert len(token) >= 43
