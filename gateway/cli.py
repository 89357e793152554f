"""The `leadgate` command: one click group; each command gets the loaded config."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import click

from gateway.config import Config, load_config
from gateway.errors import ConfigError
from gateway.local import dev_run, local_run

DEV_CONFIG = Path(__file__).with_name("dev.toml")
LOCAL_URL = "http://127.0.0.1:8000"     # send-sample's gateway when no dev instance runs


# Every command gets its config through _config(path) and its Redis through _store(config):
# that is how a command run beside `make run` finds the dev instance (.leadgate/dev.json).
# New commands must use these two helpers, not load_config or connect.


def _config(path: str | None, *, dev_instance: bool = True) -> Config:
    """The config: path, else LEADGATE_CONFIG_TOML, else the running dev instance's, else
    ./leadgate.toml."""
    if path is None and not os.environ.get("LEADGATE_CONFIG_TOML", "").strip():
        dev = _dev() if dev_instance else None
        if dev is not None:
            env = {**os.environ, **dev.env, **_own_redis()}
            redis_note = " with REDIS_URL" if os.environ.get("REDIS_URL") else ""
            click.echo(f"leadgate: using the dev instance at {dev.web_url} (pid {dev.pid}, "
                       f"config {dev_run.shown(dev.config)}){redis_note}", err=True)
            return _config_env(dev.config, env)
        if dev_instance and not Path("leadgate.toml").exists():
            raise click.ClickException(local_run.NO_CONFIG)
    try:
        return load_config(path)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _own_redis() -> dict[str, str]:
    return {"REDIS_URL": os.environ["REDIS_URL"]} if os.environ.get("REDIS_URL") else {}


def _dev() -> local_run.DevInstance | None:
    """The live `leadgate dev` of this directory, if any (looked up once per command)."""
    meta = click.get_current_context().meta
    if "leadgate.dev" not in meta:
        meta["leadgate.dev"] = local_run.find()
    return meta["leadgate.dev"]  # type: ignore[no-any-return]


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
@click.option("--host", default="0.0.0.0", show_default=True,
              help="The address to listen on (a Procfile host routes to every interface).")
def web(config_path: str | None, port: int, host: str) -> None:
    """Serve the intake (gunicorn; PORT and WEB_CONCURRENCY honoured)."""
    from gateway.web.server import serve

    config = _require_redis(_config(config_path, dev_instance=False), "web")
    _check_redis(config)                                      # fail fast, before gunicorn
    serve(config_path, port=port, host=host)


@cli.command()
@config_option
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
def worker(config_path: str | None, burst: bool) -> None:
    """Deliver queued leads to MEGA (RQ worker plus dispatcher)."""
    from workers.runtime import run_worker

    config = _require_redis(_config(config_path, dev_instance=False), "worker")
    _check_redis(config)
    run_worker(config, burst=burst)


@cli.command()
@config_option
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--megasim-port", default=8090, show_default=True, type=int)
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
    dev_run.run(_config_env(path, env), path, env, port=port, megasim_port=megasim_port,
                host=host)


@cli.command("send-sample")
@click.argument("route")
@config_option
@click.option("--url", help="The gateway's base URL (default: the dev instance's, else "
                             f"{LOCAL_URL}).")
def send_sample(route: str, config_path: str | None, url: str | None) -> None:
    """Post a realistic, correctly authenticated delivery of ROUTE's provider to a gateway."""
    import secrets

    import httpx

    from gateway.domain.sources import SOURCES

    config = _config(config_path)
    url = url or ((dev := _dev()) and dev.web_url) or LOCAL_URL
    spec = config.routes.get(route)
    if spec is None:
        raise click.ClickException(f"no route named '{route}' in {config.source_path} "
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



def _store(config: Config) -> Any:
    """The store on the config's Redis (REDIS_URL), else the running dev instance's."""
    import redis

    from gateway.local.redis_server import connect
    from gateway.store.index import Index
    from gateway.store.store import Store, acknowledged

    url = config.redis_url
    if not url and (dev := _dev()) is not None:
        click.echo(f"leadgate: using the dev instance's Redis (pid {dev.pid})", err=True)
        url = dev.redis_url
    if not url:
        raise click.ClickException(local_run.NO_INSTANCE)
    client = connect(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise click.ClickException(f"Redis does not answer: {type(exc).__name__} "
                                   f"(is the instance running? check REDIS_URL)") from None
    return Store(client, index=Index.from_config(config), **acknowledged(config))


@cli.command()
@config_option
@click.option("--no-check", is_flag=True, help="Show the last source-health checks; ask the "
                                                "sources (Meta, Google) nothing now.")
def status(config_path: str | None, no_check: bool) -> None:
    """Where every customer's leads are: pending, in flight, delivered, dead, held and why;
    the source health (checked now) and reconciliation of each route whose source lists its
    leads (Meta, Google)."""
    config = _config(config_path)
    store = _store(config)
    click.echo(f"{'customer':16} {'state':11} {'pending':>8} {'in flight':>9} {'held':>6} "
               f"{'delivered':>10} {'dead':>6}  reason")
    for name in sorted(config.customers):
        s = store.customer_summary(name)
        click.echo(f"{name:16} {s['state']:11} {s['pending']:>8} {s['in_flight']:>9} "
                   f"{s['held']:>6} {s['delivered']:>10} {s['dead']:>6}  {s['reason'] or ''}")
    click.echo(f"dead letters: {store.dead_count()}")
    _redis_status(config, store)
    _source_status(config, store, check=not no_check)


def _redis_status(config: Config, store: Any) -> None:
    """Redis's memory headroom, and a warning if its policy may evict leads."""
    from gateway.store.headroom import evicting, eviction_warning, memory

    info = store.memory_info()
    click.echo(memory(info, config.redis.get("max_memory_mb")).line())
    if policy := evicting(info):
        click.echo(f"warning: {eviction_warning(policy)}")


SOURCE_LABELS = {"meta_lead_ads": "meta", "google_lead_forms": "google"}


def _source_status(config: Config, store: Any, *, check: bool) -> None:
    """Each listing route's source health and reconciliation, for `status`."""
    from gateway.web.route_status import health_label, lists_leads, reconcile_label, routes_report

    if check and any(lists_leads(r) for r in config.routes.values()):
        from workers.monitors import HealthChecker

        checker = HealthChecker(config, store)
        try:
            checker.check_all()
        finally:
            checker.close()
    for name, report in routes_report(config, store).items():
        if "health" in report:
            label = SOURCE_LABELS.get(report["source"], report["source"])
            click.echo(f"{label} route {name}: {health_label(report['health'])}; "
                       f"{reconcile_label(report['reconcile'])}")
    firing = store.firing_alerts()
    if firing:
        click.echo(f"alerts firing: {', '.join(firing)}")


@cli.group()
def dlq() -> None:
    """Dead letters: list, show, replay, purge."""


@dlq.command("list")
@config_option
@click.option("--limit", default=50, show_default=True)
def dlq_list(config_path: str | None, limit: int) -> None:
    """List dead letters, oldest first."""
    store = _store(_config(config_path))
    for event in store.dead_letters(limit=limit):
        click.echo(f"{event.id}  {event.customer:12} "
                   f"{event.extra.get('dead_reason', ''):9} {event.extra.get('error', '')[:80]}")
    click.echo(f"{store.dead_count()} dead letter(s)")


@dlq.command("show")
@config_option
@click.argument("event_id")
def dlq_show(config_path: str | None, event_id: str) -> None:
    """Show one event's whole record."""
    import json

    from gateway.web.admin import public

    event = _store(_config(config_path)).event(event_id)
    if event is None:
        raise click.ClickException(f"no event {event_id}")
    click.echo(json.dumps(public(event.to_fields()), indent=2, sort_keys=True))


@dlq.command("replay")
@config_option
@click.argument("event_ids", nargs=-1)
@click.option("--all", "replay_all", is_flag=True, help="Replay every dead letter.")
@click.option("--new-key", is_flag=True,
              help="Send under a new idempotency key even if the body is unchanged "
                   "(may create a second lead if MEGA committed the first request).")
def dlq_replay(config_path: str | None, event_ids: tuple[str, ...], replay_all: bool,
               new_key: bool) -> None:
    """Queue dead letters again: an unchanged body reuses its original key, a changed one
    (after a config fix) gets a new key."""
    config = _config(config_path)
    store = _store(config)
    ids = [e.id for e in store.dead_letters(limit=100_000)] if replay_all else event_ids
    done: set[str] = set()
    for eid in ids:
        if eid in done:
            continue                      # replayed with the batch it went out in
        event = store.event(eid)
        customer = config.customers.get(event.customer) if event else None
        plan = store.replay(eid, customer, new_key=new_key) if customer else None
        if plan is None:
            click.echo(f"{eid}: not a dead letter of a configured customer", err=True)
            continue
        done.update(plan.ids)
        click.echo(f"{eid}: replayed {len(plan.ids)} event(s) under "
                   f"{plan.key or 'a new key'}: {plan.reason}")
        if plan.warning:
            click.echo(f"warning: {plan.warning}", err=True)
    replayed = len(done & set(ids))
    click.echo(f"replayed {replayed} of {len(ids)}")
    if replayed < len(ids):
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


def _require_redis(config: Config, command: str) -> Config:
    """The config, if REDIS_URL is set; else exit non-zero with one line naming it."""
    from gateway.store.store import require_redis_url

    try:
        require_redis_url(config, command)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    return config


def _check_redis(config: Config) -> None:
    """Stop on a Redis that may evict leads or cannot give server.ack's promise; print the
    warning of one LEADGATE_ALLOW_EVICTION=1 lets through. A Redis that does not answer yet
    is not checked: the intake answers 503 until it does, and workers wait for it."""
    import redis

    from gateway.local.redis_server import connect
    from gateway.store.headroom import check_server

    client = connect(config.redis_url)
    try:
        allow = os.environ.get("LEADGATE_ALLOW_EVICTION", "").strip() == "1"
        for warning in check_server(client, config, allow_eviction=allow):
            click.echo(f"leadgate: {warning}", err=True)
    except redis.RedisError as exc:
        click.echo(f"leadgate: warning: Redis not checked at start ({type(exc).__name__})",
                   err=True)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        client.close()
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
@click.option("--raw", is_flag=True, help="In --failed-rows, keep cells a spreadsheet would "
              "run as formulas (=, +, -, @, tab, CR) as they are, without a leading '.")
@click.option("--no-wait", is_flag=True, help="Return once the rows are queued.")
@config_option
def import_csv(file: str, customer: str, route: str | None, maps: tuple[str, ...],
               id_column: str | None, on_duplicate: str | None, dry_run: bool,
               failed_rows: str | None, raw: bool, no_wait: bool,
               config_path: str | None) -> None:
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
        written = run.write_failed_rows(file, failed_rows, reasons, raw=raw)
        click.echo(f"{written} failed row(s) written to {failed_rows}"
                   + (" (rows MEGA may still refuse are not known yet)" if report["pending"]
                      else "")
                   + (f" (the first {len(reasons)} of {report['counts']['failed']}: no more "
                      "are kept)" if report["counts"]["failed"] > len(reasons) else ""))


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
        """Close the progress bar, if one was shown."""
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
    from gateway.mega.client import MegaClient

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


@cli.command()
@click.argument("route")
@config_option
@click.option("--since", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="First day (UTC) whose leads are listed.")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]),
              help="Last day (UTC) listed, included; default: up to now.")
@click.option("--dry-run", is_flag=True, help="Count what is new; store nothing.")
def backfill(route: str, config_path: str | None, since: Any, until: Any,
             dry_run: bool) -> None:
    """List a route's leads at its source over a window (Meta: its forms' leads; Google: the
    Ads account's lead form submissions); store and deliver the ones not yet known."""
    from calendar import timegm

    from gateway.domain.sources import SOURCES
    from gateway.errors import SourceError
    from gateway.web.route_status import lists_leads
    from workers.reconcile import backfill as run
    from workers.reconcile import reconciliation

    config = _config(config_path)
    spec = config.routes.get(route)
    if spec is None or not lists_leads(spec):
        raise click.ClickException(f"'{route}' is not a route whose source lists its leads")
    if needs := SOURCES[spec.source].listing_needs(spec.settings):
        raise click.ClickException(f"route '{route}' needs {needs} to list leads")
    start = timegm(since.timetuple())
    end = timegm(until.timetuple()) + 86400 if until else int(time.time())
    if end <= start:
        raise click.ClickException("--until is before --since")
    found = reconciliation(spec.source, config.mega["timeout_s"])
    if found is None:
        raise click.ClickException(f"'{route}' is not a route whose source lists its leads")
    try:
        if why := found.backfill_refusal(start, time.time()):
            raise click.ClickException(why)
        store = _store(config)
        streams = found.streams(spec)
        with click.progressbar(length=len(streams) * (end - start),
                               label=f"{len(streams)} listing(s)") as bar:
            tally = run(config, store, found, spec, streams, since=start, until=end,
                        dry_run=dry_run, progress=bar.update)
    except SourceError as exc:
        raise click.ClickException(f"{spec.source}: {exc}") from None
    finally:
        found.close()
    click.echo(f"{'dry run: ' if dry_run else ''}seen {tally.seen}, already known {tally.known}, "
               f"new {tally.new}{' (not stored)' if dry_run else ''}, failed {tally.failed}")
    if tally.failed:
        sys.exit(1)
