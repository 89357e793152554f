"""The processes: web, worker, the local run (dev) and megasim."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from gateway.cli.common import (
    check_redis,
    cli,
    config_for,
    config_option,
    config_with_env,
    require_redis,
)
from gateway.local import dev_run, local_run
from gateway.local.dev_run import DEV_CONFIG

PORT = click.IntRange(0, 65535)                 # 0: any free port


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=PORT)
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Tenants, keys and limits (TOML); default: the built-in demo tenant.")
@click.option("--fault", "faults", multiple=True, metavar="NAME=VALUE",
              help="Fault setting at start, e.g. --fault error_rate=0.1 (repeatable).")
def megasim(host: str, port: int, config_path: str | None, faults: tuple[str, ...]) -> None:
    """Run megasim, the simulator of MEGA's push-leads API."""
    from werkzeug.serving import make_server

    from megasim.app import create_app
    from megasim.config import load_config as load_sim

    try:
        app = create_app(load_sim(config_path) if config_path else None)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--config") from None
    try:
        app.extensions["megasim.faults"].update(_fault_pairs(faults))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    state = app.extensions["megasim"]
    click.echo(f"megasim on http://{host}:{port}  (faults: PUT /_megasim/faults)")
    for key in state.keys.values():
        click.echo(f"  customer {key.customer_id}  token {key.token}")
    make_server(host, port, app, threaded=True).serve_forever()


def _fault_pairs(pairs: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        if name == "script":
            out[name] = [v for v in value.split(",") if v]
        elif name == "reject_containing":
            out[name] = value
        else:
            try:
                out[name] = float(value) if "." in value else int(value)
            except ValueError:
                raise ValueError(f"{name}: '{value}' is not a number") from None
    return out


@cli.command()
@config_option
@click.option("--port", envvar="PORT", default=8000, show_default=True, type=PORT)
@click.option("--host", default="0.0.0.0", show_default=True,
              help="The address to listen on (a Procfile host routes to every interface).")
def web(config_path: str | None, port: int, host: str) -> None:
    """Serve the intake (gunicorn; PORT and WEB_CONCURRENCY honoured)."""
    from gateway.web.server import serve

    config = require_redis(config_for(config_path, dev_instance=False), "web")
    check_redis(config)                                      # fail fast, before gunicorn
    serve(config_path, os.environ, port=port, host=host)


@cli.command()
@config_option
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
def worker(config_path: str | None, burst: bool) -> None:
    """Deliver queued leads to MEGA (RQ worker plus dispatcher)."""
    from workers.runtime import run_worker

    config = require_redis(config_for(config_path, dev_instance=False), "worker")
    check_redis(config, must_answer=True)
    run_worker(config, burst=burst)


@cli.command()
@config_option
@click.option("--port", default=8000, show_default=True, type=PORT)
@click.option("--megasim-port", default=8090, show_default=True, type=PORT)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="The address web and megasim listen on. The default keeps them to this "
                   "machine; another (0.0.0.0: every interface) opens them, and the admin API "
                   "with the demo's public token, to the network.")
def dev(config_path: str | None, port: int, megasim_port: int, host: str) -> None:
    """Everything locally: embedded Redis, megasim, web and worker; Ctrl-C stops it all."""
    dev_run.refuse_over_another()
    path = config_path or ("leadgate.toml" if Path("leadgate.toml").exists() else str(DEV_CONFIG))
    sim_url = f"http://{dev_run.url_host(host)}:{megasim_port}"
    env = {"LOG_FORMAT": "text", **local_run.DEV_ENV, **os.environ, "LEADGATE_CONFIG": path,
           "MEGA_BASE_URL": os.environ.get("MEGA_BASE_URL", sim_url)}
    dev_run.run(config_with_env(path, env), path, env, port=port, megasim_port=megasim_port,
                host=host)
