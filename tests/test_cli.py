"""The local run: `leadgate dev` starts everything, its printed curls work, and every other
command run from the same directory answers from it (one dev instance for the module)."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from bench.harness import free_port, wait_for
from gateway.cli import cli
from gateway.domain.sources import SOURCES
from gateway.local import local_run
from gateway.local.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
SCRUBBED = ("REDIS_URL", "LEADGATE_CONFIG", "LEADGATE_CONFIG_TOML", "MEGA_BASE_URL",
            "LEADGATE_ADMIN_TOKEN")


@dataclass
class Dev:
    proc: subprocess.Popen[str]
    cwd: Path
    env: dict[str, str]
    port: int
    sim_port: int
    banner: str

    def leadgate(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a leadgate command from the dev instance's directory, without config or Redis."""
        return subprocess.run([sys.executable, "-m", "gateway.cli", *args], cwd=self.cwd,
                              env=self.env, capture_output=True, text=True, timeout=30)

    def leads(self) -> list[dict[str, str]]:
        url = f"http://127.0.0.1:{self.sim_port}/_megasim/leads"
        return httpx.get(url).json()["leads"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def dev(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dev]:
    cwd = tmp_path_factory.mktemp("dev")
    (cwd / ".leadgate").mkdir()
    (cwd / ".leadgate" / "dev.json").write_text(json.dumps(_stale()))   # a killed dev's file
    port, sim_port = free_port(), free_port()
    env = {**{k: v for k, v in os.environ.items() if k not in SCRUBBED}, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "dev", "--port", str(port),
         "--megasim-port", str(sim_port)],
        cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz")
        wait_for(f"http://127.0.0.1:{sim_port}/_megasim/stats")
        yield Dev(proc, cwd, env, port, sim_port, _banner(proc))
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=40)
    assert proc.returncode == 0
    assert "leadgate dev stopped" in out
    assert not (cwd / ".leadgate" / "dev.json").exists()


def _stale() -> dict[str, object]:
    """The runtime file of a dev instance that is gone."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    return asdict(local_run.DevInstance(
        pid=dead.pid, config="/nowhere/dev.toml", web_url="http://127.0.0.1:1", megasim_url=None,
        mega_base_url="http://127.0.0.1:1", redis_url="redis://127.0.0.1:1/0",
        redis_run_id="gone", admin_token_source="test"))


def _banner(proc: subprocess.Popen[str]) -> str:
    """Dev's output up to the end of its welcome text."""
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if "dlq list" in line:
            return "\n".join(lines)
    raise AssertionError("no welcome text:\n" + "\n".join(lines))


def _curl(banner: str, starts: str) -> list[str]:
    """The words of the printed curl command that begins with `starts`."""
    text = banner.replace("\\\n", " ")
    line = next(line for line in text.splitlines() if line.strip().startswith(starts))
    return shlex.split(line)


@pytest.mark.timeout(90)
def test_dev_runs_everything_and_the_printed_curl_makes_a_lead(dev: Dev) -> None:
    info = json.loads((dev.cwd / ".leadgate" / "dev.json").read_text())
    assert info["pid"] == dev.proc.pid                   # the stale file was replaced
    assert info["web_url"] == f"http://127.0.0.1:{dev.port}"
    words = _curl(dev.banner, "curl -X POST")
    url, data = next(w for w in words if w.startswith("http")), words[words.index("-d") + 1]
    assert re.match(r"http://127\.0\.0\.1:\d+/hooks/", url)
    response = httpx.post(url, content=data, headers={"Content-Type": "application/json"})
    assert response.status_code == 202
    assert _until(lambda: "ada@example.com" in [lead["contact_email"] for lead in dev.leads()])
    # Valkey keeps its append-only file as a base and increments in this directory
    assert list((dev.cwd / ".leadgate" / "redis" / "appendonlydir").glob("*.incr.aof"))


@pytest.mark.timeout(120)
def test_send_sample_posts_to_the_dev_instance_without_url(dev: Dev) -> None:
    routes = sorted(set(re.findall(r"/hooks/(demo-[a-z]+)", dev.banner)))
    assert len(routes) == len(SOURCES), routes          # one demo route per provider
    before = len(dev.leads())
    for route in routes:
        sent = dev.leadgate("send-sample", route)  # no --url: the dev instance's port
        assert sent.returncode == 0, (route, sent.stdout, sent.stderr)
        assert "using the dev instance" in sent.stderr
    assert _until(lambda: len(dev.leads()) >= before + len(SOURCES), timeout_s=45)
    platforms = [str(lead.get("source_platform")) for lead in dev.leads()]
    assert platforms.count("meta_ads") == 1
    assert [platforms.count(p) for p in ("shopify", "ghl", "hubspot")] == [1, 1, 1]
    kinds = [(lead.get("source_type"), lead.get("source_platform")) for lead in dev.leads()]
    assert kinds.count(("phone_call", "google_ads")) == 1          # CallRail's Google Ads call
    assert kinds.count(("sms", "direct")) == 1                     # Twilio's SMS
    assert kinds.count(("email", "direct")) == 1                   # Mailgun's email


@pytest.mark.timeout(90)
def test_status_dlq_and_check_config_answer_from_the_dev_instance(dev: Dev) -> None:
    checked = dev.leadgate("check-config")
    assert checked.returncode == 0, checked.stderr
    assert f"config OK: 1 customer(s), {len(SOURCES)} route(s)" in checked.stdout
    assert checked.stderr.count("\n") == 1 and "using the dev instance at" in checked.stderr
    delivered = _delivered(dev)
    words = _curl(dev.banner, "curl -X POST")
    response = httpx.post(next(w for w in words if w.startswith("http")),
                          json={"name": "Grace Hopper", "email": "grace@example.com"})
    assert response.status_code == 202
    assert _until(lambda: _delivered(dev) == delivered + 1)
    listed = dev.leadgate("dlq", "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip().endswith("0 dead letter(s)")
    assert "using the dev instance" in listed.stderr


def test_the_printed_admin_token_opens_the_admin_api_and_metrics(dev: Dev) -> None:
    token = re.search(r"Admin token: (\S+)", dev.banner)
    assert token and len(token.group(1)) >= 32
    for path in ("/v1/customers", "/metrics"):
        words = _curl(dev.banner, f"curl -H 'Authorization: Bearer {token.group(1)}' "
                                  f"http://127.0.0.1:{dev.port}{path}")
        header = words[words.index("-H") + 1]
        answer = httpx.get(words[-1], headers=dict([header.split(": ", 1)]))
        assert answer.status_code == 200, (path, answer.text)
    assert "demo" in httpx.get(f"http://127.0.0.1:{dev.port}/v1/customers", headers={
        "Authorization": f"Bearer {token.group(1)}"}).json()["customers"]


def test_dev_prints_the_console_url_and_its_sign_in_works(dev: Dev) -> None:
    token = re.search(r"Admin token: (\S+)", dev.banner)
    console = re.search(r"Console: (\S+)  \(sign in with the admin token above\)", dev.banner)
    assert token and console and console.group(1) == f"http://127.0.0.1:{dev.port}/console/"
    with httpx.Client(base_url=console.group(1)) as http:
        form = http.get("login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf, form.text[:500]
        signed_in = http.post("login", data={"token": token.group(1), "csrf": csrf.group(1)})
        assert signed_in.status_code == 302
        assert "demo" in http.get("").text


def test_a_second_dev_in_the_same_directory_is_refused(dev: Dev) -> None:
    second = dev.leadgate("dev", "--port", str(free_port()), "--megasim-port", str(free_port()))
    assert second.returncode == 1
    assert f"already runs here (pid {dev.proc.pid}" in second.stderr


def test_dev_listens_on_loopback_only_and_keeps_its_files_private(dev: Dev) -> None:
    assert _listening(dev.port) == {"127.0.0.1"}          # gunicorn's default is every interface
    assert _listening(dev.sim_port) == {"127.0.0.1"}
    state = dev.cwd / ".leadgate"                           # the fixture made it 0755
    assert _mode(state) == 0o700 and _mode(state / "dev.json") == 0o600
    inside = [p for p in (state / "redis").rglob("*") if p.is_file() or p.is_dir()]
    assert any(p.name.startswith("appendonly") for p in inside)
    assert _mode(state / "redis") == 0o700
    assert {p.name: _mode(p) for p in inside} == {
        p.name: 0o700 if p.is_dir() else 0o600 for p in inside}


def test_dev_host_opens_web_and_megasim_and_the_urls_follow() -> None:
    from gateway.local.dev_run import _child_commands, url_host

    instance = local_run.DevInstance(
        pid=1, config="c", web_url="http://192.0.2.7:8000", megasim_url="http://192.0.2.7:8090",
        mega_base_url="http://192.0.2.7:8090", redis_url="redis://x", redis_run_id="r",
        admin_token_source="s")
    commands = _child_commands(instance, 8000, "192.0.2.7")
    assert [c[c.index("--host") + 1] for c in commands if "--host" in c] == ["192.0.2.7"] * 2
    assert [url_host(h) for h in ("0.0.0.0", "127.0.0.1", "192.0.2.7", "::1")] == [
        "127.0.0.1", "127.0.0.1", "192.0.2.7", "[::1]"]
    shown = " ".join(CliRunner().invoke(cli, ["dev", "--help"]).output.split())
    assert "--host TEXT" in shown and "[default: 127.0.0.1]" in shown


def _listening(port: int) -> set[str]:
    """The local addresses with a socket listening on port (Linux's /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if int(hex_port, 16) == port and state == "0A":
                raw = bytes.fromhex(address)
                found.add(socket.inet_ntoa(raw[::-1]) if len(raw) == 4 else "ipv6:" + address)
    return found


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _delivered(dev: Dev) -> int:
    shown = dev.leadgate("status")
    assert shown.returncode == 0, shown.stderr
    row = next(line.split() for line in shown.stdout.splitlines() if line.startswith("demo "))
    return int(row[5])         # customer state pending in-flight held delivered dead


def _until(check: object, timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return True
        time.sleep(0.3)
    return False


# Without a live instance: no embedded Redis is started, and the one line says what to do.

NO_ENV = dict.fromkeys(SCRUBBED)


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".leadgate").mkdir()
    return tmp_path


@pytest.mark.parametrize("args", [["status"], ["dlq", "list"], ["dlq", "purge", "evt_x"]])
def test_commands_needing_an_instance_say_how_to_start_one(here: Path, args: list[str]) -> None:
    (here / "leadgate.toml").write_text((ROOT / "gateway" / "local" / "dev.toml").read_text())
    result = CliRunner().invoke(cli, args, env={**NO_ENV, **local_run.DEV_ENV})
    assert result.exit_code == 1
    assert result.output == f"Error: {local_run.NO_INSTANCE}\n"
    assert not (here / ".leadgate" / "redis").exists()       # no embedded Redis of its own


def test_without_a_config_or_an_instance_one_line_says_how_to_start_one(here: Path) -> None:
    result = CliRunner().invoke(cli, ["status"], env=NO_ENV)
    assert result.exit_code == 1
    assert result.output == f"Error: {local_run.NO_CONFIG}\n"


def test_a_killed_dev_instance_is_not_used(here: Path, redis_server: RedisServer) -> None:
    stale = _stale()
    (here / ".leadgate" / "dev.json").write_text(json.dumps(
        {**stale, "redis_url": redis_server.url,
         "redis_run_id": local_run.redis_run_id(redis_server.url),
         "config": str(ROOT / "gateway" / "local" / "dev.toml")}))      # its Redis still answers
    assert local_run.find() is None
    result = CliRunner().invoke(cli, ["status"], env=NO_ENV)
    assert result.exit_code == 1 and result.output == f"Error: {local_run.NO_CONFIG}\n"
    refused = CliRunner().invoke(cli, ["dev"], env=NO_ENV)    # and it left its Redis running
    assert refused.exit_code == 1
    pid = redis_server.process.pid if redis_server.process else 0
    assert f"left processes running: stop them with `kill {pid}`" in refused.output


def test_an_instance_whose_redis_was_replaced_is_not_used(here: Path,
                                                          redis_server: RedisServer) -> None:
    (here / ".leadgate" / "dev.json").write_text(json.dumps(
        {**_stale(), "pid": os.getpid(), "redis_url": redis_server.url,
         "redis_run_id": "another-server"}))
    assert local_run.find() is None
    assert local_run.read() is not None


def test_a_redis_url_that_does_not_answer_is_one_line(here: Path) -> None:
    (here / "leadgate.toml").write_text((ROOT / "gateway" / "local" / "dev.toml").read_text())
    url = f"redis://127.0.0.1:{free_port()}/0"
    result = CliRunner().invoke(cli, ["dlq", "list"],
                                env={**NO_ENV, **local_run.DEV_ENV, "REDIS_URL": url})
    assert result.exit_code == 1
    assert result.output.startswith("Error: Redis does not answer (ConnectionError: ")
    assert result.output.endswith("is it running, and is REDIS_URL right?\n")
    assert result.output.count("\n") == 1


@pytest.mark.parametrize("command", sorted(cli.commands))
def test_python_m_runs_every_command(command: str) -> None:
    """`python -m gateway.cli` knows every command the `leadgate` script does."""
    done = subprocess.run([sys.executable, "-m", "gateway.cli", command, "--help"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
