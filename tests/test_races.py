"""Races that cannot stall: a purge racing a replay, and a flush that meets an id without a
record, against a real Redis, megasim and the burst worker."""

from __future__ import annotations

from typing import Any

import redis

from gateway.store.readmodel import ReadModel
from tests.conftest import ACME_ID, URL_TOKEN, Sim

FORM_URL = f"/hooks/acme-form/{URL_TOKEN}"
ADMIN = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}


def post(client: Any, *names: str) -> list[str]:
    return [client.post(FORM_URL, json={"name": n}).get_json()["events"][0] for n in names]


def a_dead_letter(client: Any, drain: Any, megasim: Sim) -> str:
    megasim.faults(script=["409"])
    (eid,) = post(client, "Dead")
    drain()
    assert client.get(f"/v1/events/{eid}", headers=ADMIN).get_json()["status"] == "dead"
    megasim.reset()
    return eid


def missing_counted(client: Any, drain: Any) -> str:
    drain.ctx.store.metrics.flush()
    text = client.get("/metrics", headers=ADMIN).get_data(as_text=True)
    return next((line for line in text.splitlines()
                 if line.startswith("leadgate_leads_missing_total{")), "")


def delivered_names(megasim: Sim) -> list[str]:
    return sorted(lead["contact_name"] for lead in megasim.leads(ACME_ID))


def test_a_purge_split_around_a_replay_cannot_put_a_recordless_id_in_a_batch(
        client: Any, drain: Any, megasim: Sim, redis_client: redis.Redis) -> None:
    """The racing order of the two-call purge: `ZREM dead`, then a replay, then `DEL`. The
    replay finds the id out of `dead` and refuses; the customer's other leads go out."""
    dead = a_dead_letter(client, drain, megasim)
    post(client, "Ada", "Grace")
    redis_client.zrem("leadgate:dead", dead)                           # purge, first call
    answer = client.post(f"/v1/dead-letters/{dead}/replay", headers=ADMIN)
    redis_client.delete(f"leadgate:event:{dead}")                      # purge, second call
    assert answer.status_code == 404
    assert dead.encode() not in redis_client.lrange("leadgate:buffer:acme", 0, -1)
    assert not redis_client.exists("leadgate:replays:acme")
    drain()
    assert delivered_names(megasim) == ["Ada", "Grace"]


def test_a_purge_between_a_replays_read_and_its_write_leaves_nothing_behind(
        client: Any, drain: Any, megasim: Sim, redis_client: redis.Redis,
        monkeypatch: Any) -> None:
    """The other order: the replay has read the dead letter, the purge runs whole, then the
    replay's script finds nothing to queue."""
    dead = a_dead_letter(client, drain, megasim)
    plan = ReadModel.plan_replay

    def purged_meanwhile(self: ReadModel, eid: str, *args: Any, **kwargs: Any) -> Any:
        planned = plan(self, eid, *args, **kwargs)
        assert self.purge(eid)
        return planned

    monkeypatch.setattr(ReadModel, "plan_replay", purged_meanwhile)
    assert client.post(f"/v1/dead-letters/{dead}/replay", headers=ADMIN).status_code == 404
    monkeypatch.undo()
    post(client, "Ada")
    drain()
    assert not redis_client.exists(f"leadgate:event:{dead}")
    assert delivered_names(megasim) == ["Ada"]


def test_a_purge_checks_the_status_and_dead_in_one_step(
        client: Any, drain: Any, megasim: Sim, redis_client: redis.Redis) -> None:
    dead = a_dead_letter(client, drain, megasim)
    (waiting,) = post(client, "Ada")
    redis_client.zadd("leadgate:dead", {waiting: 1})      # in `dead`, yet queued: not a purge's
    assert client.delete(f"/v1/dead-letters/{waiting}", headers=ADMIN).status_code == 404
    assert redis_client.hget(f"leadgate:event:{waiting}", "status") == b"pending"
    assert client.post(f"/v1/dead-letters/{dead}/replay", headers=ADMIN).status_code == 202
    assert client.delete(f"/v1/dead-letters/{dead}", headers=ADMIN).status_code == 404
    redis_client.zrem("leadgate:dead", waiting)
    drain()
    assert delivered_names(megasim) == ["Ada", "Dead"]


def test_a_batch_with_an_id_without_a_record_delivers_the_rest_and_counts_it(
        client: Any, drain: Any, megasim: Sim, redis_client: redis.Redis) -> None:
    ids = post(client, "Ada", "Lost", "Grace")
    redis_client.delete(f"leadgate:event:{ids[1]}")           # what a racing purge left
    drain(timeout_s=10)
    assert delivered_names(megasim) == ["Ada", "Grace"]
    assert {client.get(f"/v1/events/{e}", headers=ADMIN).get_json()["status"]
            for e in (ids[0], ids[2])} == {"delivered"}
    assert not redis_client.exists(f"leadgate:event:{ids[1]}")      # no stray record made
    assert missing_counted(client, drain) == 'leadgate_leads_missing_total{customer="acme"} 1.0'


def test_a_frozen_batch_that_lost_a_record_is_resent_unchanged_for_the_rest(
        client: Any, drain: Any, megasim: Sim, redis_client: redis.Redis) -> None:
    """A batch already sent keeps its bytes and key: nothing MEGA may have created is created
    anew; the record-less id is dropped from it, the others get their outcome."""
    megasim.faults(script=["500"])
    ids = post(client, "Ada", "Lost")
    drain.step()
    assert redis_client.hget("leadgate:batch:acme", "body")          # frozen, in flight
    redis_client.delete(f"leadgate:event:{ids[1]}")
    drain(timeout_s=10, skip_waits=True)
    keys = {r["idempotency_key"] for r in megasim.requests()}
    assert len(megasim.requests()) == 2 and len(keys) == 1
    assert client.get(f"/v1/events/{ids[0]}", headers=ADMIN).get_json()["status"] == "delivered"
    assert not redis_client.exists(f"leadgate:event:{ids[1]}")
    assert missing_counted(client, drain).endswith(" 1.0")
