"""Every command, given bad input, answers with one line that says what is wrong and what to
do, and exit 1 (2 for a usage error, as click does): never a traceback. Real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.harness import free_port
from gateway.local.redis_server import RedisServer
from tests.conftest import ACME_ID, ACME_TOKEN, to_toml

ROOT = Path(__file__).resolve().parents[1]
SCRUBBED = ("REDIS_URL", "LEADGATE_CONFIG", "LEADGATE_CONFIG_TOML", "MEGA_BASE_URL",
            "LEADGATE_ADMIN_TOKEN", "LEADGATE_DEBUG", "PORT")
CONFIG = {"customers": {"acme": {"customer_id": ACME_ID, "token": ACME_TOKEN}},
          "routes": {"acme-form": {"customer": "acme", "source": "generic",
                                   "url_token": "u" * 32}}}
DEAD = f"redis://127.0.0.1:{free_port()}/0"        # nothing listens there

# (command line, environment, exit code, what the one line says); {dir}, {u16}, {missing},
# {ok}, {csv} are files of the test's directory, {redis} the tests' Redis.
ROWS: list[tuple[str, dict[str, str], int, str]] = [
    # a directory
    ("check-config --config {dir}", {}, 1, "is a directory"),
    ("status", {"LEADGATE_CONFIG": "{dir}"}, 1, "is a directory"),
    ("worker --config {dir}", {"REDIS_URL": "{redis}"}, 1, "is a directory"),
    ("web --config {dir}", {"REDIS_URL": "{redis}"}, 1, "is a directory"),
    ("dev --config {dir}", {}, 1, "is a directory"),
    ("import {csv} --customer acme --config {dir}", {}, 1, "is a directory"),
    ("import {dir} --customer acme --config {ok}", {}, 2, "is a directory"),
    ("megasim --config {dir}", {}, 2, "is a directory"),
    # UTF-16
    ("check-config --config {u16}", {}, 1, "not UTF-8"),
    ("dlq list", {"LEADGATE_CONFIG": "{u16}", "REDIS_URL": "{redis}"}, 1, "not UTF-8"),
    ("megasim --config {u16}", {}, 2, "not UTF-8"),
    # a missing file, or none at all
    ("check-config --config {missing}", {}, 1, "LEADGATE_CONFIG_TOML"),
    ("check-config", {}, 1, "LEADGATE_CONFIG_TOML"),
    ("worker", {"REDIS_URL": "{redis}"}, 1, "LEADGATE_CONFIG_TOML"),
    ("import {missing} --customer acme --config {ok}", {}, 2, "does not exist"),
    ("megasim --config {missing}", {}, 2, "does not exist"),
    # a bad URL
    ("status --config {ok}", {"REDIS_URL": "localhost:6379"}, 1, "REDIS_URL: must start"),
    ("web --config {ok}", {"REDIS_URL": "localhost:6379"}, 1, "REDIS_URL: must start"),
    ("send-sample acme-form --config {ok} --url http://[::1", {}, 1, "could not reach"),
    ("send-sample acme-form --config {ok} --url ftp://example.com", {}, 1, "could not reach"),
    # unreachable Redis
    ("worker --config {ok}", {"REDIS_URL": DEAD}, 1, "Redis does not answer"),
    ("status --config {ok}", {"REDIS_URL": DEAD}, 1, "Redis does not answer"),
    ("dlq replay evt_x --config {ok}", {"REDIS_URL": DEAD}, 1, "Redis does not answer"),
    # an unknown route, customer or event id
    ("backfill nosuch --config {ok} --since 2026-01-01", {}, 1, "no route named 'nosuch'"),
    ("send-sample nosuch --config {ok}", {}, 1, "no route named 'nosuch'"),
    ("backfill acme-form --config {ok} --since 2026-01-01", {}, 1,
     "is not a route whose source lists its leads"),
    ("import {csv} --customer nosuch --config {ok}", {"REDIS_URL": "{redis}"}, 1,
     "unknown customer 'nosuch'"),
    ("import {csv} --customer acme --route nosuch --config {ok}", {"REDIS_URL": "{redis}"}, 1,
     "no route 'nosuch'"),
    ("dlq show evt_nope --config {ok}", {"REDIS_URL": "{redis}"}, 1, "no event evt_nope"),
    ("dlq replay evt_nope --config {ok}", {"REDIS_URL": "{redis}"}, 1, "evt_nope: not a dead"),
    ("dlq purge evt_nope --config {ok}", {"REDIS_URL": "{redis}"}, 1, "evt_nope: not a dead"),
    ("megasim --fault nosuch=1", {}, 2, "unknown fault setting(s): nosuch"),
    ("megasim --fault error_rate=x", {}, 2, "not a number"),
    # usage: nothing named, negative numbers
    ("dlq replay --config {ok}", {"REDIS_URL": "{redis}"}, 2, "(event ids), or give --all"),
    ("dlq purge --config {ok}", {"REDIS_URL": "{redis}"}, 2, "Missing argument"),
    ("dlq list --limit -5 --config {ok}", {"REDIS_URL": "{redis}"}, 2, "-5 is not in the range"),
    ("dlq list --limit 0 --config {ok}", {"REDIS_URL": "{redis}"}, 2, "0 is not in the range"),
    ("megasim --port -1", {}, 2, "-1 is not in the range"),
    ("web --port -5 --config {ok}", {"REDIS_URL": "{redis}"}, 2, "-5 is not in the range"),
    ("web --config {ok}", {"REDIS_URL": "{redis}", "PORT": "-5"}, 2, "-5 is not in the range"),
    ("dev --port 70000", {}, 2, "70000 is not in the range"),
    ("backfill nosuch --config {ok} --since yesterday", {}, 2, "'yesterday' does not match"),
]


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory, redis_server: RedisServer
          ) -> dict[str, str]:
    here = tmp_path_factory.mktemp("bad-input")
    (here / "a-directory").mkdir()
    (here / "utf16.toml").write_bytes(to_toml(CONFIG).encode("utf-16"))
    (here / "ok.toml").write_text(to_toml(CONFIG))
    (here / "leads.csv").write_text("name,email\nAna Rivera,ana@example.com\n")
    return {"dir": str(here / "a-directory"), "u16": str(here / "utf16.toml"),
            "missing": str(here / "missing.toml"), "ok": str(here / "ok.toml"),
            "csv": str(here / "leads.csv"), "redis": redis_server.url, "cwd": str(here)}


def leadgate(place: dict[str, str], line: str, env: dict[str, str]) -> Any:
    """The command run from the test's directory, in an environment without leadgate's own."""
    clean = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    args = [word.format(**place) for word in line.split()]
    return subprocess.run([sys.executable, "-m", "gateway.cli", *args], cwd=place["cwd"],
                          env={**clean, "PYTHONPATH": str(ROOT),
                               **{k: v.format(**place) for k, v in env.items()}},
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("line", "env", "code", "says"), ROWS,
                         ids=[f"{row[0]} {' '.join(row[1])}".strip() for row in ROWS])
def test_bad_input_is_one_line_and_an_exit_code(place: dict[str, str], line: str,
                                                env: dict[str, str], code: int,
                                                says: str) -> None:
    done = leadgate(place, line, env)
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    assert done.returncode == code, (done.returncode, done.stdout, done.stderr)
    assert says in done.stdout + done.stderr, (done.stdout, done.stderr)
    if code == 1:                                   # one line on stderr, and only that
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    else:                                           # click's usage, a hint, the error
        assert [x for x in done.stderr.splitlines() if x.startswith("Error: ")], done.stderr
    assert "make run" not in done.stderr


def test_version_is_the_package_version(place: dict[str, str]) -> None:
    from importlib.metadata import version

    done = leadgate(place, "--version", {})
    assert (done.returncode, done.stdout) == (0, f"leadgate, version {version('leadgate')}\n")
