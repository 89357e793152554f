"""Replays that cannot duplicate: an unchanged body goes out under its original key."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis
from click.testing import CliRunner

from gateway.cli import cli
from gateway.web.app import create_app
from tests.conftest import ACME_ID, URL_TOKEN, Sim, build, to_toml

FORM_URL = f"/hooks/acme-form/{URL_TOKEN}"
ADMIN = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}


def post(client: Any, *names: str) -> list[str]:
    return [client.post(FORM_URL, json={"name": n}).get_json()["events"][0] for n in names]


def replay(client: Any, eid: str, **body: Any) -> dict[str, Any]:
    answer = client.post(f"/v1/dead-letters/{eid}/replay", headers=ADMIN, json=body or None)
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()  # type: ignore[no-any-return]


def test_a_conflict_whose_request_mega_committed_replays_into_one_lead(
        client: Any, drain: Any, megasim: Sim) -> None:
    megasim.faults(script=["commit_then_fail", "409"])
    (eid,) = post(client, "Committed")
    drain(skip_waits=True)
    assert client.get(f"/v1/events/{eid}", headers=ADMIN).get_json()["dead_reason"] == "conflict"
    assert len(megasim.leads(ACME_ID)) == 1                  # MEGA did create it
    key = megasim.requests()[0]["idempotency_key"]
    assert replay(client, eid)["key"] == key
    drain()
    assert len(megasim.leads(ACME_ID)) == 1
    assert megasim.requests()[-1]["idempotency_key"] == key
    assert client.get(f"/v1/events/{eid}", headers=ADMIN).get_json()["status"] == "delivered"


def test_an_expired_batch_mega_committed_replays_into_one_lead_with_its_batch(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        megasim: Sim, drain_factory: Any) -> None:
    config_dict["mega"]["max_age_hours"] = 0.0002                    # 0.72 s
    config = build(config_dict, redis_server.url)
    client = create_app(config).test_client()
    megasim.faults(script=["commit_then_fail"], error_rate=1.0)
    ids = post(client, "One", "Two")
    drain_factory(config)(skip_waits=True)
    assert {client.get(f"/v1/events/{e}", headers=ADMIN).get_json()["dead_reason"]
            for e in ids} == {"expired"}
    assert len(megasim.leads(ACME_ID)) == 2
    megasim.faults(error_rate=0.0)
    answer = replay(client, ids[1])
    assert sorted(answer["events"]) == sorted(ids)          # the whole request goes again
    assert answer["key"] == megasim.requests()[0]["idempotency_key"]
    drain_factory(config)()
    assert len(megasim.leads(ACME_ID)) == 2
    assert client.get("/v1/dead-letters", headers=ADMIN).get_json()["total"] == 0


def test_a_config_fix_that_changes_the_body_replays_under_a_new_key(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        megasim: Sim, drain_factory: Any) -> None:
    config = build(config_dict, redis_server.url)
    megasim.faults(script=["409"])
    ids = post(create_app(config).test_client(), "One", "Two")
    drain_factory(config)()
    first_key = megasim.requests()[0]["idempotency_key"]
    config_dict["customers"]["acme"]["on_duplicate"] = "skip"          # the fix
    fixed = build(config_dict, redis_server.url)
    client = create_app(fixed).test_client()
    answer = replay(client, ids[0])
    assert answer["key"] != first_key and answer["key_reason"].startswith("body changed")
    drain_factory(fixed)()
    assert len(megasim.leads(ACME_ID)) == 2
    assert megasim.requests()[-1]["idempotency_key"] == answer["key"]
    record = client.get(f"/v1/events/{ids[1]}", headers=ADMIN).get_json()
    assert record["replay_key"] == answer["key"] and "changed" in record["replay_reason"]


def test_a_new_key_is_explicit_and_warns(client: Any, drain: Any, megasim: Sim,
                                         redis_server: Any, config_dict: dict[str, Any],
                                         tmp_path: Path) -> None:
    megasim.faults(script=["409"])
    (eid,) = post(client, "Forced")
    drain()
    path = tmp_path / "leadgate.toml"
    path.write_text(to_toml(config_dict))
    result = CliRunner().invoke(cli, ["dlq", "replay", "--all", "--new-key", "--config",
                                      str(path)], env={"REDIS_URL": redis_server.url})
    assert result.exit_code == 0, result.output
    assert "a new key, as asked" in result.output and "second lead" in result.output
    drain()
    keys = [r["idempotency_key"] for r in megasim.requests()]
    assert len(keys) == 2 and keys[0] != keys[1]


def test_a_refused_request_replays_under_a_new_key_once_mega_would_take_it(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        megasim: Sim, drain_factory: Any) -> None:
    """MEGA answered its refusal (bulk rows `failed` in a 200) and stored that answer under the
    key: the original key would only fetch the refusal again, and nothing was created."""
    import dataclasses

    config_dict["customers"]["acme"]["delivery"] = "bulk"
    config_dict["routes"]["acme-form"]["lead"]["stage_slug"] = "nurture"    # not in MEGA yet
    config = build(config_dict, redis_server.url)
    client = create_app(config).test_client()
    ids = post(client, "One", "Two")
    drain_factory(config)()
    assert {client.get(f"/v1/events/{e}", headers=ADMIN).get_json()["dead_reason"]
            for e in ids} == {"rejected"}
    first_key = megasim.requests()[0]["idempotency_key"]
    tenants = megasim.app.extensions["megasim"].config.tenants
    acme = tenants[ACME_ID]
    tenants[ACME_ID] = dataclasses.replace(acme, stages=(*acme.stages, {      # MEGA's admin
        "slug": "nurture", "name": "Nurture", "color": "#000000"}))           # adds the stage
    try:
        answer = replay(client, ids[0])
        assert answer["key"] != first_key and "refused" in answer["key_reason"]
        drain_factory(config)()
    finally:
        tenants[ACME_ID] = acme
    assert sorted(lead["contact_name"] for lead in megasim.leads(ACME_ID)) == ["One", "Two"]
    assert client.get("/v1/dead-letters", headers=ADMIN).get_json()["total"] == 0
