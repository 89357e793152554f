"""A whole leadgate deployment on this machine, for chaos runs and benchmarks.

Redis (the embedded server), megasim, gunicorn web and N workers, each its own process, as
on a Procfile host; customers c0..cK each with a generic route `r<i>` keyed by the body's `id`.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from gateway.local.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[1]
URL_TOKEN = "bench-url-token-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(url: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout_s} s")


@dataclass
class Stack:
    customers: int = 10
    workers: int = 2
    web_concurrency: int = 2
    web_threads: int = 4
    delivery: str = "auto"
    linger_ms: int = 500
    max_batch: int = 500
    mega_timeout_s: float = 15.0
    limits: dict[str, int] = field(default_factory=lambda: {
        "window_s": 60, "single_per_window": 1_000_000, "bulk_per_window": 1_000_000})
    faults: dict[str, Any] = field(default_factory=dict)
    start_workers: bool = True
    quiet: bool = True
    hmac_secret: str = ""           # routes also check an X-Signature HMAC of the body
    event_id: str = "id"            # where routes read the event id ('': a hash of the body)
    admin_token: str = "bench-admin-token-0123456789abcdef"

    def __post_init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="leadgate-bench-"))
        self.ids = [str(uuid.UUID(int=random.Random(i).getrandbits(128), version=4))
                    for i in range(self.customers)]
        self.tokens = ["mega_" + f"{i:04d}" * 16 for i in range(self.customers)]
        self.web_port, self.sim_port = free_port(), free_port()
        self.redis = RedisServer(self.dir / "redis", port=free_port(), persistent=True)
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    # -- files -----------------------------------------------------------------------------
    def _write_configs(self) -> None:
        sim = ["[limits]\n" + "".join(f"{k} = {v}\n" for k, v in self.limits.items())]
        for cid, token in zip(self.ids, self.tokens, strict=True):
            sim.append(f'[[customers]]\nid = "{cid}"\nname = "{cid[:8]}"\n'
                       f'keys = [{{ token = "{token}" }}]\n')
        (self.dir / "megasim.toml").write_text("\n".join(sim))
        lines = ['[server]', f'admin_token = "{self.admin_token}"', '',
                 '[mega]', f'base_url = "http://127.0.0.1:{self.sim_port}"',
                 f"timeout_s = {self.mega_timeout_s}", ""]
        for i, (cid, token) in enumerate(zip(self.ids, self.tokens, strict=True)):
            lines += [f"[customers.c{i}]", f'customer_id = "{cid}"', f'token = "{token}"',
                      f'delivery = "{self.delivery}"', f"linger_ms = {self.linger_ms}",
                      f"max_batch = {self.max_batch}", "",
                      f"[routes.r{i}]", f'customer = "c{i}"', 'source = "generic"',
                      f'url_token = "{URL_TOKEN}"',
                      *([f'event_id = "{self.event_id}"'] if self.event_id else []),
                      *([f'hmac_secret = "{self.hmac_secret}"'] if self.hmac_secret else []),
                      ""]
        (self.dir / "leadgate.toml").write_text("\n".join(lines))

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "LEADGATE_CONFIG": str(self.dir / "leadgate.toml"),
                "REDIS_URL": self.redis.url, "PYTHONPATH": str(ROOT),
                "WEB_CONCURRENCY": str(self.web_concurrency),
                "GUNICORN_THREADS": str(self.web_threads)}

    def _spawn(self, name: str, *args: str, module: str = "gateway.cli"
               ) -> subprocess.Popen[bytes]:
        with open(self.dir / f"{name}.log", "ab") as log:    # the child keeps its own copy
            proc = subprocess.Popen([sys.executable, "-m", module, *args], env=self.env,
                                    stdout=subprocess.DEVNULL if self.quiet else log,
                                    stderr=log, start_new_session=True)
        self.procs[name] = proc
        return proc

    # -- life cycle ------------------------------------------------------------------------
    def start(self) -> Stack:
        self._write_configs()
        self.redis.start()
        fault_args = [f"--fault={k}={v}" for k, v in self.faults.items()]
        self._spawn("megasim", "megasim", "--port", str(self.sim_port),
                    "--config", str(self.dir / "megasim.toml"), *fault_args)
        self._spawn("web", "web", "--port", str(self.web_port))
        wait_for(f"{self.sim_url}/_megasim/stats")
        wait_for(f"{self.web_url}/readyz")
        if self.start_workers:
            self.start_all_workers()
        return self

    def serve(self, name: str, target: str) -> str:
        """Another WSGI app under the same gunicorn settings; returns its base URL."""
        port = free_port()
        self._spawn(name, target, str(port), module="bench.serve")
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.post(f"{url}/hooks/x/y", content=b"{}", timeout=1)
                return url
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def serve_web(self, name: str, **server: str) -> str:
        """Another leadgate web on the same Redis, with these [server] settings (TOML values)
        added to the config; returns its base URL."""
        path = self.dir / f"{name}.toml"
        added = "".join(f"{key} = {value}\n" for key, value in server.items())
        path.write_text((self.dir / "leadgate.toml").read_text().replace(
            "[server]\n", f"[server]\n{added}", 1))
        port = free_port()
        self._spawn(name, "web", "--port", str(port), "--config", str(path))
        wait_for(f"http://127.0.0.1:{port}/readyz")
        return f"http://127.0.0.1:{port}"

    def start_all_workers(self) -> None:
        for i in range(self.workers):
            self.start_worker(i)

    def start_worker(self, i: int) -> subprocess.Popen[bytes]:
        return self._spawn(f"worker{i}", "worker")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.killpg(proc.pid, sig)
            proc.wait(30)

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        self.redis.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> Stack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers ---------------------------------------------------------------------------
    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    def hook(self, customer: int) -> str:
        return f"{self.web_url}/hooks/r{customer}/{URL_TOKEN}"

    def sim(self, path: str, **params: Any) -> Any:
        return httpx.get(f"{self.sim_url}{path}", params=params, timeout=60).json()

    def set_faults(self, **settings: Any) -> None:
        httpx.put(f"{self.sim_url}/_megasim/faults", json=settings, timeout=10).raise_for_status()
