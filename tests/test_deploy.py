"""The deploy files a Procfile host reads agree with the code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from bench.harness import free_port, wait_for
from gateway.cli import cli
from gateway.config import load_config
from gateway.errors import ConfigError
from gateway.web.server import options

ROOT = Path(__file__).resolve().parents[1]


def test_procfile_processes_are_commands_that_exist() -> None:
    processes = dict(line.split(": ", 1) for line in
                     (ROOT / "Procfile").read_text().splitlines() if line.strip())
    assert set(processes) == {"web", "worker", "release"}
    for command in processes.values():
        words = command.split()
        assert words[0] == "leadgate"
        result = CliRunner().invoke(cli, [*words[1:], "--help"])
        assert result.exit_code == 0, command


def test_app_json_documents_every_setting_the_processes_read() -> None:
    app = json.loads((ROOT / "app.json").read_text())
    addon = app["addons"][0]
    assert addon["plan"].startswith("heroku-redis") and \
        addon["options"]["maxmemory_policy"] == "noeviction"        # queues must not be evicted
    assert app["env"]["LEADGATE_ADMIN_TOKEN"]["generator"] == "secret"
    assert app["env"]["REDIS_TLS_VERIFY"]["value"] == "none"      # Heroku Redis: self-signed
    read = set(re.findall(r'env\.get\("([A-Z_]+)"', (ROOT / "gateway/web/server.py").read_text()))
    assert read - {"PORT"} <= set(app["env"]), read - set(app["env"])
    assert all(entry.get("description") for entry in app["env"].values())


def test_gunicorn_settings_come_from_the_environment() -> None:
    got = options(5000, {"WEB_CONCURRENCY": "3", "GUNICORN_THREADS": "8",
                         "GUNICORN_TIMEOUT": "45"})
    assert (got["bind"], got["workers"], got["threads"], got["timeout"]) == (
        "0.0.0.0:5000", 3, 8, 45)
    assert options(5000, {}, host="127.0.0.1")["bind"] == "127.0.0.1:5000"    # leadgate dev's


def test_requirements_pin_every_runtime_dependency() -> None:
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = {line.split("==")[0] for line in (ROOT / "requirements.txt").read_text().splitlines()
              if "==" in line}
    names = {re.split(r"[<>=\[ ]", dep)[0].lower().replace("_", "-") for dep in wanted}
    assert names <= pinned, names - pinned
    assert (ROOT / "requirements.txt").read_text().splitlines()[-1] == "."


def test_config_from_one_environment_variable(tmp_path: Path) -> None:
    text = (ROOT / "leadgate.example.toml").read_text()
    env = {"LEADGATE_CONFIG_TOML": text, "MEGA_TOKEN_ACME": "mega_" + "x" * 64,
           "ACME_SITE_URL_TOKEN": "u" * 32}
    assert "acme" in load_config(env=env).customers
    with pytest.raises(ConfigError, match="LEADGATE_CONFIG_TOML: not valid TOML"):
        load_config(env={"LEADGATE_CONFIG_TOML": "[server"})


def test_release_step_fails_on_a_bad_config(tmp_path: Path) -> None:
    bad = tmp_path / "leadgate.toml"
    bad.write_text("[server]\nmax_body_kb = 0\n")
    result = subprocess.run([sys.executable, "-m", "gateway.cli", "check-config"], cwd=tmp_path,
                            capture_output=True, text=True, env={"PATH": "/usr/bin:/bin",
                                                                 "PYTHONPATH": str(ROOT)})
    assert result.returncode != 0 and "max_body_kb" in result.stderr


# A config as a Heroku Button user pastes it into LEADGATE_CONFIG_TOML (the deploy guide's).
BUTTON_CONFIG = """\
[server]
admin_token = "${LEADGATE_ADMIN_TOKEN}"
trusted_proxies = "${LEADGATE_TRUSTED_PROXIES:-0}"

[mega]
base_url = "${MEGA_BASE_URL}"

[customers.acme]
customer_id = "11111111-1111-4111-8111-111111111111"
token = "mega_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

[routes.acme-site]
customer = "acme"
source = "generic"
url_token = "Xq3vN8bK2pL7wR4tY9mZ6cF1hJ5sD0gA"
"""


def button_env(**given: str) -> dict[str, str]:
    """What a new app from app.json has: each value, each generated secret, the required
    values given, and the add-on's REDIS_URL; nothing of this machine's but PATH."""
    import secrets

    app = json.loads((ROOT / "app.json").read_text())
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    for name, entry in app["env"].items():
        if "value" in entry:
            env[name] = entry["value"]
        elif entry.get("generator") == "secret":
            env[name] = secrets.token_hex(32)
        elif entry.get("required", True) and name in given:
            env[name] = given[name]
    return {**env, **{k: v for k, v in given.items() if k not in app["env"]}}


def procfile(process: str) -> list[str]:
    """The Procfile's command for process, run as `python -m gateway.cli`."""
    line = dict(x.split(": ", 1) for x in (ROOT / "Procfile").read_text().splitlines() if x)
    words = line[process].split()
    assert words[0] == "leadgate"
    return [sys.executable, "-m", "gateway.cli", *words[1:]]


def test_app_json_requires_the_config_itself() -> None:
    app = json.loads((ROOT / "app.json").read_text())
    asked = {name for name, entry in app["env"].items() if entry.get("required", True)
             and "value" not in entry and "generator" not in entry}
    assert asked == {"LEADGATE_CONFIG_TOML"}
    assert "leadgate.toml" in (ROOT / ".gitignore").read_text().split()   # no file deploys


def test_a_button_deploy_passes_its_release_phase_and_serves_readyz(
        tmp_path: Path, redis_server: Any) -> None:
    env = button_env(LEADGATE_CONFIG_TOML=BUTTON_CONFIG, REDIS_URL=redis_server.url)
    release = subprocess.run(procfile("release"), cwd=tmp_path, env=env, capture_output=True,
                             text=True, timeout=60)
    assert release.returncode == 0, release.stderr
    assert "config OK: 1 customer(s), 1 route(s)" in release.stdout
    port = free_port()
    web = subprocess.Popen(procfile("web"), cwd=tmp_path, env={**env, "PORT": str(port)},
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(f"http://127.0.0.1:{port}/readyz", timeout_s=60)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz")
        assert ready.json() == {"status": "ready", "routes": 1}
    finally:
        web.terminate()
        web.wait(timeout=30)
    assert list(tmp_path.iterdir()) == []                # nothing of a local run left behind


def test_a_release_without_a_config_names_the_variables(tmp_path: Path) -> None:
    release = subprocess.run(procfile("release"), cwd=tmp_path, env=button_env(),
                             capture_output=True, text=True, timeout=60)
    assert release.returncode == 1
    assert "LEADGATE_CONFIG " in release.stderr and "LEADGATE_CONFIG_TOML" in release.stderr
    assert "make run" not in release.stderr and "Traceback" not in release.stderr
