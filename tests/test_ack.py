"""server.ack against real replicas: every 2xx, for a new event or a duplicate, holds the
promise; a failover after it loses nothing under "replica", and what "memory" can lose."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bench.harness import free_port
from gateway.local.redis_server import RedisServer
from gateway.web.app import create_app
from gateway.web.context import app_context
from tests.conftest import URL_TOKEN, Drainer, Sim, build
from workers.context import bind, build_context

FORM_URL = f"/hooks/acme-form/{URL_TOKEN}"


class Node:
    """A valkey-server of the test's own, killable, with a client."""

    def __init__(self, data_dir: Path):
        self.server = RedisServer(data_dir, port=free_port(), persistent=False)
        self.server.start()
        self.client = redis.Redis.from_url(self.server.url, socket_timeout=10)
        self.client.config_set("repl-diskless-sync-delay", 0)     # a sync starts at once

    @property
    def url(self) -> str:
        return self.server.url

    def follow(self, primary: Node | None) -> None:
        """REPLICAOF the primary (and wait until the link is up), or REPLICAOF NO ONE."""
        if primary is None:
            self.client.execute_command("REPLICAOF", "NO", "ONE")
            return
        self.client.execute_command("REPLICAOF", "127.0.0.1", str(primary.server.port))
        wait_until(lambda: self.client.info("replication")["master_link_status"] == "up")

    def cut_link(self) -> None:
        """The link to its primary goes down (a partition): it points at a port nobody
        serves, keeps its data and stays a replica."""
        self.client.execute_command("REPLICAOF", "127.0.0.1", str(free_port()))

    def kill(self) -> None:
        """kill -9: whatever the replica does not have yet is gone."""
        assert self.server.process is not None
        self.server.process.kill()
        self.server.process.wait()

    def pause(self) -> None:
        assert self.server.process is not None
        self.server.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.server.process is not None
        self.server.process.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.resume()
        self.client.close()
        self.server.stop()


def wait_until(condition: Callable[[], Any], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "the condition did not hold in time"
        time.sleep(0.02)


def in_sync(primary: Node) -> None:
    """Wait until the replica has everything the primary wrote (a write, then WAIT, on one
    connection)."""
    pipe = primary.client.pipeline(transaction=False)
    pipe.set("test:sync", "1").execute_command("WAIT", 1, 10_000)
    assert pipe.execute()[-1] == 1


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[Callable[[str], Node]]:
    made: list[Node] = []

    def node(name: str) -> Node:
        made.append(Node(tmp_path / name))
        return made[-1]

    yield node
    for n in made:
        n.stop()


class Leadgate:
    """Web and worker pointed at one Redis, as after a restart with a new REDIS_URL."""

    def __init__(self, config_dict: dict[str, Any], url: str, ack: str, timeout_ms: int = 2000):
        config_dict["server"].update(ack=ack, ack_timeout_ms=timeout_ms)
        self.config = build(config_dict, url)
        self.app = create_app(self.config)
        self.client = self.app.test_client()
        self.answers: dict[str, list[int]] = {}

    def post(self, name: str) -> int:
        status = self.client.post(FORM_URL, json={"id": name, "name": name}).status_code
        self.answers.setdefault(name, []).append(status)
        return status

    def drain(self) -> None:
        ctx = build_context(self.config)
        bind(ctx)
        try:
            Drainer(ctx)()
        finally:
            bind(None)
            ctx.close()

    def close(self) -> None:
        app_context(self.app).close()


def delivered(megasim: Sim) -> Counter[str]:
    """How many leads MEGA holds per contact name (the inspection API)."""
    return Counter(lead["contact_name"] for lead in megasim.leads())


def failover(config_dict: dict[str, Any], nodes: Callable[[str], Node], ack: str
             ) -> tuple[Leadgate, Node]:
    """Leads posted (some delivered) while the replica follows; one more posted while its
    link is down; the primary killed -9 and the replica promoted. Returns leadgate as it
    was on the old primary (its answers) and the new primary."""
    primary, replica = nodes("primary"), nodes("replica")
    replica.follow(primary)
    old = Leadgate(config_dict, primary.url, ack)
    try:
        for i in range(10):
            old.post(f"Before {i}")
        old.drain()                                      # delivered from the old primary
        for i in range(10):
            old.post(f"Queued {i}")
        in_sync(primary)
        replica.cut_link()
        old.post("Unreplicated")
        old.post("Unreplicated")                         # the provider's resend
    finally:
        old.close()
    primary.kill()
    replica.follow(None)                                 # promoted
    return old, replica


def test_failover_under_replica_delivers_every_2xx_exactly_once(
        config_dict: dict[str, Any], megasim: Sim, nodes: Callable[[str], Node]) -> None:
    old, promoted = failover(config_dict, nodes, "replica")
    assert {old.answers[f"Before {i}"][0] for i in range(10)} == {202}
    assert {old.answers[f"Queued {i}"][0] for i in range(10)} == {202}
    assert old.answers["Unreplicated"] == [503, 503]       # first post and resend alike
    nodes("new-replica").follow(promoted)
    new = Leadgate(config_dict, promoted.url, "replica")
    try:
        resent = [new.post(f"Queued {i}") for i in range(10)]    # providers may resend
        assert set(resent) == {200}
        assert new.post("Unreplicated") == 202           # the 503'd one, resent: stored now
        new.drain()
    finally:
        new.close()
    acknowledged = [name for name, statuses in old.answers.items()
                    if any(status < 300 for status in statuses)]
    assert len(acknowledged) == 20
    held = delivered(megasim)
    assert {name: held[name] for name in acknowledged} == dict.fromkeys(acknowledged, 1)
    assert held["Unreplicated"] == 1
    assert sum(held.values()) == 21


def test_failover_under_memory_loses_a_2xx_the_replica_did_not_have(
        config_dict: dict[str, Any], megasim: Sim, nodes: Callable[[str], Node]) -> None:
    old, promoted = failover(config_dict, nodes, "memory")
    assert {statuses[0] for statuses in old.answers.values()} == {202}
    assert old.answers["Unreplicated"] == [202, 200]     # 2xx: the provider stops there
    new = Leadgate(config_dict, promoted.url, "memory")
    try:
        new.drain()
    finally:
        new.close()
    held = delivered(megasim)
    assert {name: held[name] for name in old.answers if name != "Unreplicated"} == \
        {name: 1 for name in old.answers if name != "Unreplicated"}
    assert held["Unreplicated"] == 0                     # lost, though it was answered 202


def test_without_a_replica_first_post_and_resend_are_503_then_2xx_once_attached(
        config_dict: dict[str, Any], nodes: Callable[[str], Node]) -> None:
    primary = nodes("primary")
    gate = Leadgate(config_dict, primary.url, "replica", timeout_ms=50)
    try:
        first = gate.client.post(FORM_URL, json={"id": "r1", "name": "No Replica"})
        assert first.status_code == 503 and first.headers["Retry-After"] == "5"
        assert "not on a replica within" in first.get_json()["error"]["message"]
        again = gate.client.post(FORM_URL, json={"id": "r1", "name": "No Replica"})
        assert again.status_code == 503 and again.headers["Retry-After"] == "5"
        replica = nodes("replica")
        replica.follow(primary)
        last = gate.client.post(FORM_URL, json={"id": "r1", "name": "No Replica"})
        assert last.status_code == 200 and last.get_json()["duplicates"] == 1
        assert replica.client.exists(f"leadgate:event:{last.get_json()['events'][0]}")
    finally:
        gate.close()


def test_a_resend_during_the_first_requests_wait_waits_too(
        config_dict: dict[str, Any], nodes: Callable[[str], Node]) -> None:
    """The resend's WAIT must cover the first request's write, which is not on the replica:
    its own write first, on its own connection, then WAIT."""
    primary, replica = nodes("primary"), nodes("replica")
    replica.follow(primary)
    gate = Leadgate(config_dict, primary.url, "replica", timeout_ms=1000)
    answers: dict[str, int] = {}
    try:
        replica.pause()                    # stalled: it acknowledges nothing meanwhile
        first = threading.Thread(target=lambda: answers.update(first=gate.post("During")))
        first.start()
        wait_until(lambda: primary.client.info("clients")["blocked_clients"] >= 1)
        answers["resend"] = gate.post("During")          # while the first one waits
        first.join()
    finally:
        replica.resume()
        gate.close()
    assert answers == {"first": 503, "resend": 503}


def test_a_socket_error_during_the_wait_is_503_with_retry_after(
        config_dict: dict[str, Any], nodes: Callable[[str], Node]) -> None:
    primary = nodes("primary")
    gate = Leadgate(config_dict, primary.url, "replica", timeout_ms=3000)
    try:
        def kill_the_waiter() -> None:
            wait_until(lambda: primary.client.info("clients")["blocked_clients"] >= 1)
            primary.client.client_kill_filter(_type="normal", skipme=True)

        killer = threading.Thread(target=kill_the_waiter)
        killer.start()
        answer = gate.client.post(FORM_URL, json={"id": "s1", "name": "Socket"})
        killer.join()
        assert answer.status_code == 503 and answer.headers["Retry-After"] == "5"
        assert "the wait failed (ConnectionError)" in answer.get_json()["error"]["message"]
    finally:
        gate.close()


def test_fsync_waits_for_the_disk_and_is_503_while_appendonly_is_off(
        config_dict: dict[str, Any], nodes: Callable[[str], Node]) -> None:
    primary = nodes("primary")
    gate = Leadgate(config_dict, primary.url, "fsync")
    try:
        assert gate.post("Disk") == 503
        assert gate.post("Disk") == 503                  # the resend too
        primary.client.config_set("appendonly", "yes")
        wait_until(lambda: primary.client.info("persistence")["aof_rewrite_in_progress"] == 0
                   and primary.client.info("persistence")["aof_enabled"] == 1)
        calls = waitaof_calls(primary.client)
        assert gate.post("Disk") == 200                  # stored by the first: a duplicate
        assert gate.post("Fresh") == 202
        assert waitaof_calls(primary.client) == calls + 2
        primary.client.config_set("appendonly", "no")
        assert gate.post("Disk") == 503
    finally:
        gate.close()


def test_memory_mode_adds_no_round_trip(config_dict: dict[str, Any],
                                        nodes: Callable[[str], Node]) -> None:
    primary = nodes("primary")
    gate = Leadgate(config_dict, primary.url, "memory")
    try:
        gate.post("Fast")
        gate.post("Fast")
        stats = primary.client.info("commandstats")
        assert "cmdstat_wait" not in stats and "cmdstat_set" not in stats
    finally:
        gate.close()


def waitaof_calls(client: redis.Redis) -> int:
    return int(client.info("commandstats").get("cmdstat_waitaof", {}).get("calls", 0))
