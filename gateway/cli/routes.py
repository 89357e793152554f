"""A route's setup: check the config, make a URL token, send a sample delivery."""

from __future__ import annotations

import sys
import time
from dataclasses import replace

import click

from gateway.cli.common import (
    cli,
    config_for,
    config_option,
    route_for,
    running_dev,
)
from gateway.domain.sources.providers.messages.twilio import TwilioSettings
from gateway.domain.sources.providers.meta import MetaSettings

LOCAL_URL = "http://127.0.0.1:8000"     # send-sample's gateway when no dev instance runs


@cli.command("check-config")
@config_option
def check_config(config_path: str | None) -> None:
    """Validate the config file; exit non-zero with the key and the problem."""
    config = config_for(config_path)
    click.echo(f"config OK: {len(config.customers)} customer(s), {len(config.routes)} route(s)")
    for name, route in sorted(config.routes.items()):
        click.echo(f"  /hooks/{name}  source={route.source}  customer={route.customer}")


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

    config = config_for(config_path)
    url = url or ((dev := running_dev()) and dev.web_url) or LOCAL_URL
    spec = route_for(config, route)
    source = SOURCES[spec.source]
    hook = f"{url.rstrip('/')}/hooks/{route}"
    if token := spec.settings.url_token:
        hook += f"/{token}"
    # a scheme that signs the URL signs the one posted to, unless the route names its own
    settings = spec.settings
    if isinstance(settings, TwilioSettings) and not settings.public_url:
        settings = replace(settings, public_url=hook)
    sample = source.sample(settings, time.time(), secrets.token_hex(4))
    try:
        with httpx.Client(timeout=15) as http:
            if spec.source == "meta_lead_ads":    # the subscription check Meta makes first
                challenge = str(secrets.randbelow(10**9))
                verify = MetaSettings.of(spec.settings).verify_token
                check = http.get(hook, params={"hub.mode": "subscribe", "hub.challenge": challenge,
                                               "hub.verify_token": verify})
                if check.status_code != 200 or check.text != challenge:
                    raise click.ClickException(f"handshake failed: {check.status_code} "
                                               f"{check.text[:200]}")
                click.echo("handshake: 200, challenge echoed")
            response = http.post(hook, content=sample.body, headers=sample.headers)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise click.ClickException(f"could not reach {url}: {type(exc).__name__}") from None
    click.echo(f"{spec.source} sample -> {response.status_code} {response.text.strip()[:500]}")
    if not response.is_success:
        sys.exit(1)


@cli.command("new-token")
def new_token() -> None:
    """Print a random URL token (256 bits) for a route's url_token."""
    import secrets

    click.echo(secrets.token_urlsafe(32))
