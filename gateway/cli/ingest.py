"""Leads brought in from elsewhere: a CSV import, a backfill from a route's source."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from gateway.cli.common import (
    cli,
    config_for,
    config_option,
    route_for,
    store_for,
)
from gateway.config import Config

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar


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

    config = config_for(config_path)
    imports = Imports(store_for(config), ttl_s=config.dedup_ttl_s)
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
        self.label = label
        self.bar: ProgressBar[int] | None = None

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

    mega = MegaClient(base_url=config.mega.base_url, timeout_s=config.mega.timeout_s)
    dry = DryRun(plan, Previewer(mega, plan.customer, plan.on_duplicate), imports,
                 on_row=lambda result: click.echo(preview_line(result)))
    try:
        report = dry.run(file)
    finally:
        mega.close()
    return report, {e["row"]: e["reason"] for e in dry.errors}


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
    from gateway.store.route_status import lists_leads
    from workers.reconcile import backfill as run
    from workers.reconcile import reconciliation

    config = config_for(config_path)
    spec = route_for(config, route)
    if not lists_leads(spec):
        raise click.ClickException(f"'{route}' is not a route whose source lists its leads")
    if needs := SOURCES[spec.source].listing_needs(spec.settings):
        raise click.ClickException(f"route '{route}' needs {needs} to list leads")
    start = timegm(since.timetuple())
    end = timegm(until.timetuple()) + 86400 if until else int(time.time())
    if end <= start:
        raise click.ClickException("--until is before --since")
    found = reconciliation(spec.source, config.mega.timeout_s)
    if found is None:
        raise click.ClickException(f"'{route}' is not a route whose source lists its leads")
    try:
        if why := found.backfill_refusal(start, time.time()):
            raise click.ClickException(why)
        store = store_for(config)
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
