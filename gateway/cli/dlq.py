"""`leadgate dlq`: dead letters listed, shown, replayed, purged."""

from __future__ import annotations

import sys

import click

from gateway.cli.common import (
    cli,
    config_for,
    config_option,
    store_for,
)


@cli.group()
def dlq() -> None:
    """Dead letters: list, show, replay, purge."""


@dlq.command("list")
@config_option
@click.option("--limit", default=50, show_default=True, type=click.IntRange(min=1))
def dlq_list(config_path: str | None, limit: int) -> None:
    """List dead letters, oldest first."""
    store = store_for(config_for(config_path))
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

    event = store_for(config_for(config_path)).event(event_id)
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
    if not event_ids and not replay_all:
        raise click.UsageError("name the dead letters to replay (event ids), or give --all")
    config = config_for(config_path)
    store = store_for(config)
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
    store = store_for(config_for(config_path))
    done = 0
    for eid in event_ids:
        if store.purge(eid):
            done += 1
        else:
            click.echo(f"{eid}: not a dead letter", err=True)
    click.echo(f"purged {done} of {len(event_ids)}")
    if done < len(event_ids):
        sys.exit(1)
