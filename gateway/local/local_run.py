"""The local run's runtime file: `leadgate dev` says where it runs, other commands find it.

`leadgate dev` writes `.leadgate/dev.json` once everything answers and removes it when it stops.
A command run from the same directory without a config or REDIS_URL of its own uses the
instance the file names, but only while it is alive: its process runs and its Redis answers
with the run id recorded at start, so a killed `leadgate dev` is never used.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gateway.config import NO_CONFIG_HINT, VAR
from gateway.errors import StoreUnavailable
from gateway.store.connection import connect

STATE_FILE = Path(".leadgate") / "dev.json"
NO_INSTANCE = "no leadgate instance found: start one with `make run` (or set REDIS_URL)"
NO_CONFIG = f"no config: no ./leadgate.toml, and no leadgate dev running here: {NO_CONFIG_HINT}"


# The Google Ads credentials of the demo Google route (gateway/local/dev.toml): megasim's stand-in
# accepts these public literals, and `leadgate dev` gives them to its processes (a route's API
# secrets may only be ${VAR}). Set in your environment, yours win.
DEV_ENV = {"LEADGATE_DEV_GOOGLE_DEVELOPER_TOKEN": "demo-developer-token-0123",
           "LEADGATE_DEV_GOOGLE_CLIENT_ID": "000000000042-demo.apps.googleusercontent.com",
           "LEADGATE_DEV_GOOGLE_CLIENT_SECRET": "GOCSPX-demo-client-secret",
           "LEADGATE_DEV_GOOGLE_REFRESH_TOKEN": "1//0demo-refresh-token-for-megasim"}


@dataclass(frozen=True)
class DevInstance:
    """What a running `leadgate dev` serves, and how to reach it."""

    pid: int
    config: str                    # absolute path of the config it loaded
    web_url: str
    megasim_url: str | None        # None when [mega] base_url is not local
    mega_base_url: str             # the MEGA_BASE_URL its processes run with
    redis_url: str
    redis_run_id: str              # tells this Redis from another on the same address
    admin_token_source: str
    children: tuple[int, ...] = ()   # megasim, web and worker

    @property
    def env(self) -> dict[str, str]:
        """The variables its processes were given, to read its config as they do."""
        return {**DEV_ENV, "REDIS_URL": self.redis_url, "MEGA_BASE_URL": self.mega_base_url}


def redis_run_id(url: str) -> str:
    """The run id of the Redis server at url (new each time a server starts)."""
    return str(_server_info(url)["run_id"])


def _server_info(url: str) -> dict[str, Any]:
    client = connect(url, socket_timeout=1)
    try:
        return dict(client.info("server"))
    finally:
        client.close()


def private_dir(path: Path) -> Path:
    """path as a folder only its owner may enter (0700), made so when it exists already."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def write(instance: DevInstance, path: Path = STATE_FILE) -> None:
    """Write the runtime file atomically (readers see the old file or the new, whole), 0600."""
    private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(asdict(instance), fh, indent=2)
    os.replace(tmp, path)


def remove(pid: int, path: Path = STATE_FILE) -> None:
    """Remove the runtime file if it is pid's (a newer instance's file stays)."""
    instance = read(path)
    if instance is not None and instance.pid == pid:
        path.unlink(missing_ok=True)


def read(path: Path = STATE_FILE) -> DevInstance | None:
    """The instance the runtime file names, alive or not; None without a readable file."""
    try:
        return DevInstance(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def find(path: Path = STATE_FILE) -> DevInstance | None:
    """The instance the runtime file names if it is alive, else None."""
    instance = read(path)
    if instance is None or not _process_runs(instance.pid):
        return None
    try:
        if redis_run_id(instance.redis_url) != instance.redis_run_id:
            return None
    except StoreUnavailable:
        return None
    return instance


def leftovers(instance: DevInstance) -> list[int]:
    """Processes a killed instance left running: its Redis (if it still answers) and children."""
    pids = [pid for pid in instance.children if _runs_leadgate(pid)]
    try:
        info = _server_info(instance.redis_url)
        if info["run_id"] == instance.redis_run_id:
            pids.insert(0, int(info["process_id"]))
    except StoreUnavailable:
        pass
    return pids


def _runs_leadgate(pid: int) -> bool:
    try:
        return b"gateway.cli" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return False
    except OSError:                 # no /proc here: trust the pid
        return _process_runs(pid)


def _process_runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def admin_token_source(config_path: str, env: Mapping[str, str]) -> str:
    """Where the admin token comes from: an environment variable or the config file."""
    try:
        with open(config_path, "rb") as fh:
            raw = tomllib.load(fh).get("server", {}).get("admin_token", "")
    except (OSError, tomllib.TOMLDecodeError, AttributeError):
        return f"server.admin_token in {config_path}"
    match = VAR.search(raw) if isinstance(raw, str) else None
    if match and env.get(match.group(1)):
        return f"env {match.group(1)}"
    where = f"server.admin_token in {config_path}"
    return f"{where}; env {match.group(1)} overrides it" if match else where
