"""`leadgate status`: every customer's leads, Redis's headroom, each listing route's health."""

from __future__ import annotations

from typing import Any

import click

from gateway.cli.common import (
    cli,
    config_for,
    config_option,
    store_for,
)
from gateway.config import Config


@cli.command()
@config_option
@click.option("--no-check", is_flag=True, help="Show the last source-health checks; ask the "
                                                "sources (Meta, Google) nothing now.")
def status(config_path: str | None, no_check: bool) -> None:
    """Where every customer's leads are: pending, in flight, delivered, dead, held and why;
    the source health (checked now) and reconciliation of each route whose source lists its
    leads (Meta, Google)."""
    config = config_for(config_path)
    store = store_for(config)
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
    """Redis's memory headroom, and a warning for each setting that breaks a promise now
    (an evicting policy; appendonly off under server.ack = "fsync")."""
    from gateway.store.headroom import memory, read_settings

    info = store.server_info()
    click.echo(memory(info, config.redis.max_memory_mb).line())
    for setting in read_settings(info, config):
        click.echo(setting.line())


SOURCE_LABELS = {"meta_lead_ads": "meta", "google_lead_forms": "google"}


def _source_status(config: Config, store: Any, *, check: bool) -> None:
    """Each listing route's source health and reconciliation, for `status`."""
    from gateway.store.route_status import health_label, lists_leads, reconcile_label, routes_report

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
