"""Worker crashes: SIGKILL mid-send resumes elsewhere with the same bytes and key; SIGTERM
finishes the send in flight. Real worker processes, real Redis, megasim over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from gateway.web.app import create_app
from tests.conftest import ACME_ID, URL_TOKEN, Sim, build, to_toml

ROOT = Path(__file__).resolve().parents[1]


def wait(condition: Callable[[], bool], timeout_s: float, what: str) -> float:
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > timeout_s:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return time.monotonic() - start


@pytest.fixture
def worker_env(config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
               tmp_path: Path) -> Iterator[tuple[Callable[[], subprocess.Popen[bytes]], Any]]:
    config_dict["mega"]["timeout_s"] = 10
    path = tmp_path / "leadgate.toml"
    path.write_text(to_toml(config_dict))
    env = {**os.environ, "REDIS_URL": redis_server.url, "PYTHONPATH": str(ROOT)}
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-m", "gateway.cli", "worker", "--config",
                                 str(path)], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(proc)
        return proc

    client = create_app(build(config_dict, redis_server.url)).test_client()
    yield start, client
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def status(r: redis.Redis, eid: str) -> str:
    return (r.hget(f"leadgate:event:{eid}", "status") or b"").decode()


@pytest.mark.timeout(120)
def test_sigkill_mid_send_resumes_within_60s_with_the_same_key(
        worker_env: Any, megasim: Sim, redis_client: redis.Redis) -> None:
    start, client = worker_env
    megasim.faults(script=["slow"], slow_ms=6000)     # MEGA commits, then is slow to answer
    eid = client.post(f"/hooks/acme-form/{URL_TOKEN}", json={"name": "Only Name"}
                      ).get_json()["events"][0]
    first = start()
    wait(lambda: len(megasim.leads(ACME_ID)) == 1, 20, "the first send to reach MEGA")
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = time.monotonic()
    start()
    wait(lambda: status(redis_client, eid) == "delivered", 60, "another worker to resume")
    recovery_s = time.monotonic() - killed_at
    assert recovery_s < 60
    assert len(megasim.leads(ACME_ID)) == 1
    wait(lambda: len(megasim.requests()) == 2, 10, "both requests in megasim's log")
    keys = {(r["idempotency_key"], r["body_sha256"]) for r in megasim.requests()}
    assert len(keys) == 1
    print(f"recovery after SIGKILL: {recovery_s:.1f} s")


@pytest.mark.timeout(60)
def test_sigterm_finishes_the_send_in_flight(worker_env: Any, megasim: Sim,
                                             redis_client: redis.Redis) -> None:
    start, client = worker_env
    megasim.faults(script=["slow"], slow_ms=2000)
    eid = client.post(f"/hooks/acme-form/{URL_TOKEN}", json={"name": "Term"}
                      ).get_json()["events"][0]
    worker = start()
    wait(lambda: len(megasim.leads(ACME_ID)) == 1, 20, "the send to reach MEGA")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=25) == 0
    assert status(redis_client, eid) == "delivered"
    assert redis_client.zcard("leadgate:leases") == 0
    assert [r["status"] for r in megasim.requests()] == ["201"]


@pytest.mark.timeout(150)
def test_workers_ride_out_a_redis_restart() -> None:
    """Redis goes away in the middle of a send and comes back: intake answers 503 meanwhile
    (never 2xx), the worker process stays up and reconnects, the batch in flight is resumed
    after its lease, and what arrives afterwards is delivered too."""
    from bench.harness import Stack

    with Stack(customers=1, workers=1, linger_ms=0, mega_timeout_s=5) as stack:
        stack.set_faults(latency_ms=2500)          # the send is in flight when Redis goes
        before = httpx.post(stack.hook(0), json={"id": "before", "name": "Before Outage"})
        assert before.status_code == 202
        wait_for_status(stack, before.json()["events"][0], "in_flight")
        stack.redis.stop()
        during = httpx.post(stack.hook(0), json={"id": "during", "name": "During Outage"})
        assert during.status_code == 503
        time.sleep(4)
        stack.redis.start()
        stack.set_faults(latency_ms=0)
        after = httpx.post(stack.hook(0), json={"id": "after", "name": "After Outage"})
        assert after.status_code == 202
        wait_for_leads(stack, 2, timeout_s=90)
        assert stack.procs["worker0"].poll() is None
        names = sorted(lead["contact_name"] for lead in stack.sim("/_megasim/leads")["leads"])
        assert names == ["After Outage", "Before Outage"]


def wait_for_status(stack: Any, event_id: str, status: str, timeout_s: float = 60.0) -> None:
    """Until the admin API shows the event in `status` (a worker has started and claimed it)."""
    headers = {"Authorization": f"Bearer {stack.admin_token}"}
    deadline = time.monotonic() + timeout_s
    while httpx.get(f"{stack.web_url}/v1/events/{event_id}", headers=headers
                    ).json().get("status") != status:
        assert time.monotonic() < deadline, f"{event_id} never reached {status}"
        time.sleep(0.1)


def wait_for_leads(stack: Any, n: int, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while sum(stack.sim("/_megasim/stats")["leads"].values()) < n:
        assert time.monotonic() < deadline, f"fewer than {n} leads reached megasim"
        time.sleep(0.2)
