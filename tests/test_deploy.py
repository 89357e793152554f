"""The deploy files a Procfile host reads agree with the code."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

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
