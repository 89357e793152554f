"""`leadgate dev`: its processes, the welcome text, and its runtime file while it is up."""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from gateway import defaults
from gateway.config import Config
from gateway.errors import StoreUnavailable
from gateway.local import local_run

LOOPBACK = ("127.0.0.1", "localhost", "::1")
EVERY_INTERFACE = ("0.0.0.0", "::", "")

DEV_CONFIG = Path(__file__).with_name("dev.toml")   # the demo config of `leadgate dev`


def url_host(host: str) -> str:
    """How to reach a server listening on host from here (every interface: via loopback)."""
    if host in EVERY_INTERFACE:
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def run(config: Config, path: str, env: dict[str, str], *, port: int, megasim_port: int,
        host: str = "127.0.0.1") -> None:
    """Start Redis (unless REDIS_URL is set), megasim, web and worker; stop all on a signal."""
    from gateway.local.redis_server import DATA_DIR, RedisServer

    stop = _stop_on_signals()
    local_run.private_dir(local_run.STATE_FILE.parent)
    redis_server = RedisServer(DATA_DIR) if not env.get("REDIS_URL") else None
    children: list[subprocess.Popen[bytes]] = []
    up = False
    try:
        if redis_server is not None:
            env["REDIS_URL"] = redis_server.start()
        instance = _describe(config, path, env, port, megasim_port, host)
        children = [subprocess.Popen(cmd, env=env)
                    for cmd in _child_commands(instance, port, host)]
        instance = replace(instance, children=tuple(child.pid for child in children))
        up = _wait_up(children, instance, stop)
        if up:
            local_run.write(instance)
            _print_welcome(config, instance)
            if host not in LOOPBACK:
                click.echo(f"Listening on {host or 'every interface'}: other machines reach "
                           "the intake, megasim and, with this admin token, every lead.\n")
            _wait(children, stop)
    finally:
        local_run.remove(os.getpid())
        _stop_all(children, redis_server)
    if not up and not stop.is_set():
        raise click.ClickException("a process exited or did not answer in "
                                   f"{defaults.DEV_READY_TIMEOUT_S:.0f} s (see its output above)")


def refuse_over_another() -> None:
    """Refuse to start while another dev instance, or what a killed one left, runs here."""
    if (running := local_run.find()) is not None:
        raise click.ClickException(f"leadgate dev already runs here (pid {running.pid}, "
                                   f"{running.web_url}): stop it first")
    stale = local_run.read()
    if stale is not None and (pids := local_run.leftovers(stale)):
        raise click.ClickException(f"a killed leadgate dev (pid {stale.pid}) left processes "
                                   f"running: stop them with `kill {' '.join(map(str, pids))}`")


def _describe(config: Config, path: str, env: dict[str, str], port: int,
              megasim_port: int, host: str) -> local_run.DevInstance:
    """What this `leadgate dev` will serve; megasim only when MEGA's URL is local."""

    mega_url, here = urlsplit(config.mega.base_url), url_host(host)
    megasim_url = None
    if mega_url.hostname in (*LOOPBACK, here.strip("[]")):
        megasim_url = f"http://{here}:{mega_url.port or megasim_port}"
    try:
        run_id = local_run.redis_run_id(env["REDIS_URL"])
    except StoreUnavailable as exc:
        raise click.ClickException(f"Redis does not answer (REDIS_URL): {type(exc).__name__}"
                                   ) from None
    return local_run.DevInstance(
        pid=os.getpid(), config=str(Path(path).resolve()), web_url=f"http://{here}:{port}",
        megasim_url=megasim_url, mega_base_url=env["MEGA_BASE_URL"], redis_url=env["REDIS_URL"],
        redis_run_id=run_id, admin_token_source=local_run.admin_token_source(shown(path), env))


def _child_commands(dev: local_run.DevInstance, port: int, host: str) -> list[list[str]]:
    """The child processes: megasim (if local), web and worker, listening on host."""
    exe = [sys.executable, "-m", "gateway.cli"]
    commands = [exe + ["web", "--port", str(port), "--host", host], exe + ["worker"]]
    if dev.megasim_url:
        commands.insert(0, exe + ["megasim", "--port", str(urlsplit(dev.megasim_url).port),
                                  "--host", host])
    return commands


def _print_welcome(config: Config, dev: local_run.DevInstance) -> None:
    """The hook URLs, the admin token and what to try first."""
    base, me = dev.web_url, _self_command()
    click.echo(f"\nleadgate dev: intake {base}, MEGA {dev.mega_base_url}")
    for name, route in sorted(config.routes.items()):
        token = route.settings.url_token
        click.echo(f"  {route.source:18} {base}/hooks/{name}" + (f"/{token}" if token else ""))
    _print_admin(config, dev)
    if config.server.admin_token:
        click.echo(f"\nConsole: {base}/console/  (sign in with the admin token above)")
    generic = next((r for r in config.routes.values()
                    if r.source == "generic" and r.settings.url_token), None)
    if generic:
        click.echo("\nSend a lead:\n  curl -X POST "
                   f"{base}/hooks/{generic.name}/{generic.settings.url_token} \\\n"
                   "    -H 'Content-Type: application/json' \\\n"
                   "    -d '{\"name\": \"Ada Lovelace\", \"email\": \"ada@example.com\", "
                   "\"phone\": \"(206) 555-0100\"}'")
        if dev.megasim_url:
            click.echo(f"Then see it in MEGA:\n  curl {dev.megasim_url}/_megasim/leads")
    click.echo("\nIn another terminal, from this directory, every leadgate command uses this "
               f"instance:\n  {me} send-sample <route>    # a realistic delivery of any provider"
               f"\n  {me} status\n  {me} dlq list\n")


def _print_admin(config: Config, dev: local_run.DevInstance) -> None:
    """The admin token and one curl each for the admin API and the metrics."""
    token = config.server.admin_token
    if not token:
        click.echo("\nAdmin API and /metrics: off (server.admin_token is empty)")
        return
    auth = "-H " + shlex.quote(f"Authorization: Bearer {token}")
    click.echo(f"\nAdmin token: {token}  ({dev.admin_token_source})\n"
               f"  curl {auth} {dev.web_url}/v1/customers\n"
               f"  curl {auth} {dev.web_url}/metrics")


def shown(path: str) -> str:
    """path relative to here when it is below here (gateway/local/dev.toml in a checkout)."""
    relative = os.path.relpath(Path(path).absolute())
    return path if relative.startswith("..") else relative


def _self_command() -> str:
    """How to run leadgate from here: `.venv/bin/leadgate` under `make run`."""
    exe = Path(sys.argv[0])
    return shown(str(exe)) if exe.name == "leadgate" and exe.is_file() else "leadgate"


def _stop_on_signals() -> threading.Event:
    """An event set by Ctrl-C, SIGTERM or SIGHUP (a closed terminal)."""
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda *_: stop.set())
    return stop


def _wait_up(children: list[subprocess.Popen[bytes]], dev: local_run.DevInstance,
             stop: threading.Event) -> bool:
    """Whether web (and megasim) answer before a stop, a child's exit or the timeout."""
    import httpx

    urls = [f"{dev.web_url}/readyz"] + ([f"{dev.megasim_url}/_megasim/stats"]
                                        if dev.megasim_url else [])
    deadline = time.monotonic() + defaults.DEV_READY_TIMEOUT_S
    while time.monotonic() < deadline and not stop.is_set():
        if any(child.poll() is not None for child in children):
            return False
        try:
            if all(httpx.get(url, timeout=1).status_code == 200 for url in urls):
                return True
        except httpx.TransportError:
            pass
        stop.wait(0.1)
    return False


def _wait(children: list[subprocess.Popen[bytes]], stop: threading.Event) -> None:
    """Until a stop signal or a child's exit."""
    while not stop.is_set() and all(child.poll() is None for child in children):
        stop.wait(0.2)


def _stop_all(children: list[subprocess.Popen[bytes]], redis_server: Any) -> None:
    """Stop the children (SIGTERM, then SIGKILL after 20 s), then the embedded Redis."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()
    if redis_server is not None:
        redis_server.stop()
    click.echo("leadgate dev stopped")
