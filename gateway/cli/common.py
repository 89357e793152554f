"""What every command shares: the click group, --config, the config (or the running dev instance's)
and the store a command works on."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from gateway.config import Config, load_config
from gateway.errors import ConfigError
from gateway.local import dev_run, local_run

# Every command gets its config through config_for(path) and its Redis through store_for(config):
# that is how a command run beside `make run` finds the dev instance (.leadgate/dev.json).
# New commands must use these two helpers, not load_config or connect.


def config_for(path: str | None, *, dev_instance: bool = True) -> Config:
    """The config: path, else LEADGATE_CONFIG_TOML, else the running dev instance's, else
    ./leadgate.toml."""
    if path is None and not os.environ.get("LEADGATE_CONFIG_TOML", "").strip():
        dev = running_dev() if dev_instance else None
        if dev is not None:
            env = {**os.environ, **dev.env, **_own_redis()}
            redis_note = " with REDIS_URL" if os.environ.get("REDIS_URL") else ""
            click.echo(f"leadgate: using the dev instance at {dev.web_url} (pid {dev.pid}, "
                       f"config {dev_run.shown(dev.config)}){redis_note}", err=True)
            return config_with_env(dev.config, env)
        if dev_instance and not Path("leadgate.toml").exists():
            raise click.ClickException(local_run.NO_CONFIG)
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _own_redis() -> dict[str, str]:
    return {"REDIS_URL": os.environ["REDIS_URL"]} if os.environ.get("REDIS_URL") else {}


def running_dev() -> local_run.DevInstance | None:
    """The live `leadgate dev` of this directory, if any (looked up once per command)."""
    meta = click.get_current_context().meta
    if "leadgate.dev" not in meta:
        meta["leadgate.dev"] = local_run.find()
    return meta["leadgate.dev"]  # type: ignore[no-any-return]


class Boundary(click.Group):
    """The click group that turns any error a command lets out into one line on stderr and
    exit 1: no traceback reaches the user (LEADGATE_DEBUG=1 lets it through)."""

    def invoke(self, ctx: click.Context) -> Any:
        """Run the command; an error it lets out becomes a ClickException."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:
            if os.environ.get("LEADGATE_DEBUG", "").strip() == "1":
                raise
            raise click.ClickException(explain(exc)) from None


def explain(exc: Exception) -> str:
    """One line that names the problem and what to do about it."""
    from gateway.errors import InboundError, LeadgateError, StoreUnavailable

    if type(exc) is StoreUnavailable and isinstance(cause := exc.__cause__, Exception):
        return (f"Redis does not answer ({type(cause).__name__}: {_first_line(cause)}): is it "
                f"running, and is REDIS_URL right?")
    if isinstance(exc, InboundError):
        return exc.message
    if isinstance(exc, LeadgateError):
        return str(exc)
    if isinstance(exc, OSError) and exc.filename:
        return f"{exc.filename}: {exc.strerror or type(exc).__name__}"
    return (f"unexpected {type(exc).__name__}: {_first_line(exc)} (LEADGATE_DEBUG=1 shows "
            f"where; please report it)")


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0][:300]


@click.group(cls=Boundary)
@click.version_option(package_name="leadgate", prog_name="leadgate")
def cli() -> None:
    """leadgate: webhook lead ingestion gateway for the MEGA CRM."""
    from gateway.logs import configure

    configure(level=os.environ.get("LOG_LEVEL", "INFO"),
              fmt=os.environ.get("LOG_FORMAT", "json"))


config_option = click.option("--config", "config_path", envvar="LEADGATE_CONFIG",
                             help="Config file (env LEADGATE_CONFIG, default ./leadgate.toml).")


def config_with_env(path: str, env: dict[str, str]) -> Config:
    """The config at path, its variables read from env; a bad one stops the command."""
    try:
        return load_config(path, env=env)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def store_for(config: Config) -> Any:
    """The store on the config's Redis (REDIS_URL), else the running dev instance's."""
    from gateway.errors import StoreUnavailable
    from gateway.store.connection import connect
    from gateway.store.index import Index
    from gateway.store.store import Store, acknowledged

    url = config.redis_url
    if not url and (dev := running_dev()) is not None:
        click.echo(f"leadgate: using the dev instance's Redis (pid {dev.pid})", err=True)
        url = dev.redis_url
    if not url:
        raise click.ClickException(local_run.NO_INSTANCE)
    client = connect(url)
    try:
        client.ping()
    except StoreUnavailable as exc:
        raise click.ClickException(explain(exc)) from None
    return Store(client, index=Index.from_config(config), **acknowledged(config))


def route_for(config: Config, name: str) -> Any:
    """The config's route of that name; else stop, naming the routes there are."""
    spec = config.routes.get(name)
    if spec is None:
        raise click.ClickException(f"no route named '{name}' in {config.source_path} "
                                   f"(routes: {', '.join(sorted(config.routes)) or 'none'})")
    return spec


def require_redis(config: Config, command: str) -> Config:
    """The config, if REDIS_URL is set; else exit non-zero with one line naming it."""
    from gateway.store.store import require_redis_url

    try:
        require_redis_url(config, command)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    return config


def check_redis(config: Config, *, must_answer: bool = False) -> None:
    """Stop on a Redis that may evict leads or cannot give server.ack's promise; print the
    warning of one LEADGATE_ALLOW_EVICTION=1 lets through, and of a plain redis:// URL to
    another machine. A Redis that does not answer yet is not checked: the intake answers 503
    until it does; a worker (must_answer) stops, and its process manager starts it again."""
    from gateway.domain.urls import redis_url_warning
    from gateway.errors import StoreUnavailable
    from gateway.store.connection import connect
    from gateway.store.headroom import check_server

    if (plain := redis_url_warning(config.redis_url)):
        click.echo(f"leadgate: {plain}", err=True)
    client = connect(config.redis_url)
    try:
        for warning in check_server(client, config, allow_eviction=config.allow_eviction):
            click.echo(f"leadgate: {warning}", err=True)
    except StoreUnavailable as exc:
        if must_answer:
            raise click.ClickException(explain(exc)) from None
        click.echo(f"leadgate: warning: Redis not checked at start ({type(exc).__name__})",
                   err=True)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        client.close()
