"""The `leadgate` command: one click group; each command gets the loaded config."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from gateway.config import Config, load_config
from gateway.errors import ConfigError

DEV_CONFIG = Path(__file__).with_name("dev.toml")


def _config(path: str | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def cli() -> None:
    """leadgate: webhook lead ingestion gateway for the MEGA CRM."""
    from gateway.logs import configure

    configure()


config_option = click.option("--config", "config_path", envvar="LEADGATE_CONFIG",
                             help="Config file (env LEADGATE_CONFIG, default ./leadgate.toml).")


@cli.command("check-config")
@config_option
def check_config(config_path: str | None) -> None:
    """Validate the config file; exit non-zero with the key and the problem."""
    config = _config(config_path)
    click.echo(f"config OK: {len(config.customers)} customer(s), {len(config.routes)} route(s)")
    for name, route in sorted(config.routes.items()):
        click.echo(f"  /hooks/{name}  source={route.source}  customer={route.customer}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8090, show_default=True, type=int)
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Tenants, keys and limits (TOML); default: the built-in demo tenant.")
@click.option("--fault", "faults", multiple=True, metavar="NAME=VALUE",
              help="Fault setting at start, e.g. --fault error_rate=0.1 (repeatable).")
def megasim(host: str, port: int, config_path: str | None, faults: tuple[str, ...]) -> None:
    """Run megasim, the simulator of MEGA's push-leads API."""
    from werkzeug.serving import make_server

    from megasim.app import create_app
    from megasim.config import load_config as load_sim

    app = create_app(load_sim(config_path) if config_path else None)
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
@click.option("--port", envvar="PORT", default=8000, show_default=True, type=int)
def web(config_path: str | None, port: int) -> None:
    """Serve the intake (gunicorn; PORT and WEB_CONCURRENCY honoured)."""
    from gateway.server import serve

    _config(config_path)  # fail fast, with one clear line, before gunicorn starts
    serve(config_path, port=port)


@cli.command()
@config_option
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
def worker(config_path: str | None, burst: bool) -> None:
    """Deliver queued leads to MEGA (RQ worker plus dispatcher)."""
    from workers.runtime import run_worker

    run_worker(_config(config_path), burst=burst)


@cli.command()
@config_option
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--megasim-port", default=8090, show_default=True, type=int)
def dev(config_path: str | None, port: int, megasim_port: int) -> None:
    """Everything locally: embedded Redis, megasim, web and worker; Ctrl-C stops it all."""
    from gateway.redis_server import DATA_DIR, RedisServer

    path = config_path or ("leadgate.toml" if Path("leadgate.toml").exists() else str(DEV_CONFIG))
    env = {"LOG_FORMAT": "text", **os.environ, "LEADGATE_CONFIG": path,
           "MEGA_BASE_URL": os.environ.get("MEGA_BASE_URL", f"http://127.0.0.1:{megasim_port}")}
    config = _config_env(path, env)
    redis_server = None
    if not os.environ.get("REDIS_URL"):
        redis_server = RedisServer(DATA_DIR)
        env["REDIS_URL"] = redis_server.start()
    exe = [sys.executable, "-m", "gateway.cli"]
    commands = [exe + ["web", "--port", str(port)], exe + ["worker"]]
    mega_url = urlsplit(config.mega["base_url"])
    if mega_url.hostname in ("127.0.0.1", "localhost"):
        commands.insert(0, exe + ["megasim", "--port", str(mega_url.port or megasim_port)])
    children = [subprocess.Popen(cmd, env=env) for cmd in commands]
    _print_welcome(config, port, mega_url.geturl())
    _supervise(children, redis_server)


@cli.command("send-sample")
@click.argument("route")
@config_option
@click.option("--url", default="http://127.0.0.1:8000", show_default=True,
              help="The gateway's base URL.")
def send_sample(route: str, config_path: str | None, url: str) -> None:
    """Post a realistic, correctly authenticated delivery of ROUTE's provider to a gateway."""
    import secrets

    import httpx

    from gateway.sources import SOURCES

    if config_path is None and os.environ.get("LEADGATE_CONFIG_TOML", "").strip():
        path, config = "LEADGATE_CONFIG_TOML", _config(None)
    else:
        path = config_path or ("leadgate.toml" if Path("leadgate.toml").exists()
                               else str(DEV_CONFIG))
        config = _config(path)
    spec = config.routes.get(route)
    if spec is None:
        raise click.ClickException(f"no route named '{route}' in {path} "
                                   f"(routes: {', '.join(sorted(config.routes))})")
    source = SOURCES[spec.source]
    hook = f"{url.rstrip('/')}/hooks/{route}"
    if token := spec.settings.get("url_token"):
        hook += f"/{token}"
    sample = source.sample(spec.settings, time.time(), secrets.token_hex(4))
    try:
        with httpx.Client(timeout=15) as http:
            if spec.source == "meta_lead_ads":    # the subscription check Meta makes first
                challenge = str(secrets.randbelow(10**9))
                check = http.get(hook, params={"hub.mode": "subscribe", "hub.challenge": challenge,
                                               "hub.verify_token": spec.settings["verify_token"]})
                if check.status_code != 200 or check.text != challenge:
                    raise click.ClickException(f"handshake failed: {check.status_code} "
                                               f"{check.text[:200]}")
                click.echo("handshake: 200, challenge echoed")
            response = http.post(hook, content=sample.body, headers=sample.headers)
    except httpx.HTTPError as exc:
        raise click.ClickException(f"could not reach {url}: {type(exc).__name__}") from None
    click.echo(f"{spec.source} sample -> {response.status_code} {response.text.strip()[:500]}")
    if not response.is_success:
        sys.exit(1)


def _config_env(path: str, env: dict[str, str]) -> Config:
    try:
        return load_config(path, env=env)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _print_welcome(config: Config, port: int, mega_url: str) -> None:
    base = f"http://127.0.0.1:{port}"
    click.echo(f"\nleadgate dev: intake {base}, MEGA {mega_url}")
    for name, route in sorted(config.routes.items()):
        token = route.settings.get("url_token")
        click.echo(f"  {route.source:18} {base}/hooks/{name}" + (f"/{token}" if token else ""))
    generic = next((r for r in config.routes.values()
                    if r.source == "generic" and r.settings.get("url_token")), None)
    if generic:
        click.echo("\nSend a lead:\n  curl -X POST "
                   f"{base}/hooks/{generic.name}/{generic.settings['url_token']} \\\n"
                   "    -H 'Content-Type: application/json' \\\n"
                   "    -d '{\"name\": \"Ada Lovelace\", \"email\": \"ada@example.com\", "
                   "\"phone\": \"(206) 555-0100\"}'")
        click.echo(f"Then see it in MEGA:\n  curl {mega_url}/_megasim/leads")
    click.echo("Or post a realistic delivery of any provider:\n"
               f"  leadgate send-sample <route> --url {base}\n")


def _supervise(children: list[subprocess.Popen[bytes]], redis_server: Any) -> None:
    """Wait until Ctrl-C/SIGTERM or a child dies, then stop everything."""
    stop = {"now": False}

    def on_signal(signum: int, frame: Any) -> None:
        stop["now"] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stop["now"] and all(child.poll() is None for child in children):
        time.sleep(0.2)
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


def _store(config: Config) -> Any:
    from gateway.redis_server import connect, ensure_embedded
    from gateway.store import Store

    return Store(connect(config.redis_url or ensure_embedded()))


@cli.command()
@config_option
def status(config_path: str | None) -> None:
    """Where every customer's leads are: pending, in flight, delivered, dead, held and why."""
    config = _config(config_path)
    store = _store(config)
    click.echo(f"{'customer':16} {'state':11} {'pending':>8} {'in flight':>9} {'held':>6} "
               f"{'delivered':>10} {'dead':>6}  reason")
    for name in sorted(config.customers):
        s = store.customer_summary(name)
        click.echo(f"{name:16} {s['state']:11} {s['pending']:>8} {s['in_flight']:>9} "
                   f"{s['held']:>6} {s['delivered']:>10} {s['dead']:>6}  {s['reason'] or ''}")
    click.echo(f"dead letters: {store.dead_count()}")


@cli.group()
def dlq() -> None:
    """Dead letters: list, show, replay, purge."""


@dlq.command("list")
@config_option
@click.option("--limit", default=50, show_default=True)
def dlq_list(config_path: str | None, limit: int) -> None:
    """List dead letters, oldest first."""
    store = _store(_config(config_path))
    for record in store.dead_letters(limit=limit):
        click.echo(f"{record['id']}  {record.get('customer', ''):12} "
                   f"{record.get('dead_reason', ''):9} {record.get('error', '')[:80]}")
    click.echo(f"{store.dead_count()} dead letter(s)")


@dlq.command("show")
@config_option
@click.argument("event_id")
def dlq_show(config_path: str | None, event_id: str) -> None:
    """Show one event's whole record."""
    import json

    from gateway.admin import public

    record = _store(_config(config_path)).event(event_id)
    if record is None:
        raise click.ClickException(f"no event {event_id}")
    click.echo(json.dumps(public(record), indent=2, sort_keys=True))


@dlq.command("replay")
@config_option
@click.argument("event_ids", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter.")
def dlq_replay(config_path: str | None, event_ids: tuple[str, ...], replay_all: bool) -> None:
    """Queue dead letters again (with new idempotency keys), e.g. after a config fix."""
    store = _store(_config(config_path))
    ids = [r["id"] for r in store.dead_letters(limit=100_000)] if replay_all else event_ids
    done = sum(store.replay(eid) for eid in ids)
    click.echo(f"replayed {done} of {len(ids)}")
    if done < len(ids):
        sys.exit(1)


@dlq.command("purge")
@config_option
@click.argument("event_ids", nargs=-1, required=True)
def dlq_purge(config_path: str | None, event_ids: tuple[str, ...]) -> None:
    """Delete dead letters for good."""
    store = _store(_config(config_path))
    done = sum(store.purge(eid) for eid in event_ids)
    click.echo(f"purged {done} of {len(event_ids)}")


@cli.command("new-token")
def new_token() -> None:
    """Print a random URL token (256 bits) for a route's url_token."""
    import secrets

    click.echo(secrets.token_urlsafe(32))


@cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--customer", required=True, help="The customer whose MEGA gets the leads.")
@click.option("--route", help="Apply this route's [lead] fields, [fields] map and region.")
@click.option("--map", "maps", multiple=True, metavar="COLUMN=FIELD",
              help="A column to a MEGA field or custom_fields.<slug> (repeatable).")
@click.option("--id-column", help="The column that identifies a row (default: a hash of it).")
@click.option("--on-duplicate", type=click.Choice(["update", "skip"]),
              help="When MEGA already has the contact (default: the customer's setting).")
@click.option("--dry-run", is_flag=True, help="Show MEGA's preview; store and create nothing.")
@click.option("--failed-rows", type=click.Path(dir_okay=False),
              help="Write the rows that failed, with the reason, to this CSV file.")
@click.option("--no-wait", is_flag=True, help="Return once the rows are queued.")
@config_option
def import_csv(file: str, customer: str, route: str | None, maps: tuple[str, ...],
               id_column: str | None, on_duplicate: str | None, dry_run: bool,
               failed_rows: str | None, no_wait: bool, config_path: str | None) -> None:
    """Import a CSV file of leads, delivered to MEGA in bulk (or previewed with --dry-run)."""
    from gateway.errors import InboundError
    from gateway.imports import run
    from gateway.imports.record import Imports
    from gateway.imports.rows import make_plan
    from gateway.imports.text import report_lines

    config = _config(config_path)
    imports = Imports(_store(config), ttl_s=config.dedup_ttl_s)
    try:
        plan = make_plan(config, run.new_import_id(), customer=customer, route=route,
                         maps=_map_pairs(maps), id_column=id_column, on_duplicate=on_duplicate)
        if dry_run:
            report, reasons = _dry_run(config, plan, imports, file)
        else:
            report, reasons = _import(imports, plan, file, wait=not no_wait)
    except InboundError as exc:
        raise click.ClickException(exc.message) from None
    for line in report_lines(report):
        click.echo(line)
    if failed_rows:
        written = run.write_failed_rows(file, failed_rows, reasons)
        click.echo(f"{written} failed row(s) written to {failed_rows}"
                   + (" (rows MEGA may still refuse are not known yet)" if report["pending"]
                      else ""))


def _map_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        column, sep, field = pair.rpartition("=")
        if not sep or not column or not field:
            raise click.BadParameter(f"'{pair}' is not COLUMN=FIELD", param_hint="--map")
        out[column] = field
    return out


class _Bar:
    """A click progress bar, made when the total is first known."""

    def __init__(self, label: str):
        self.label, self.bar = label, None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)


def _import(imports: Any, plan: Any, file: str, *, wait: bool) -> tuple[dict[str, Any],
                                                                       dict[int, str]]:
    from gateway.imports import run

    for step in ("reading", "delivering"):
        bar = _Bar(f"{step:10}")
        try:
            if step == "reading":
                run.start(imports, plan, file, name=Path(file).name, progress=bar)
            elif wait:
                run.wait(imports, plan.import_id, progress=bar, stalled=_stalled)
        finally:
            bar.close()
    return imports.report(plan.import_id), imports.failed_rows(plan.import_id)


def _stalled() -> None:
    click.echo("\nno row has finished for a while: is a worker running (leadgate worker)? "
               "Ctrl-C stops waiting; the import goes on.", err=True)


def _dry_run(config: Config, plan: Any, imports: Any, file: str) -> tuple[dict[str, Any],
                                                                          dict[int, str]]:
    from gateway.imports.preview import Previewer
    from gateway.imports.run import DryRun
    from gateway.imports.text import preview_line
    from workers.mega import MegaClient

    mega = MegaClient(base_url=config.mega["base_url"], timeout_s=config.mega["timeout_s"])
    dry = DryRun(plan, Previewer(mega, plan.customer, plan.on_duplicate), imports,
                 on_row=lambda result: click.echo(preview_line(result)))
    try:
        report = dry.run(file)
    finally:
        mega.close()
    return report, {e["row"]: e["reason"] for e in dry.errors}


if __name__ == "__main__":
    cli()
