"""Secrets only over TLS: every URL that carries a credential is https unless it stays on this
machine; a plain redis:// to another machine is warned about at start."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.cli.common import check_redis
from gateway.config import config_from_dict
from gateway.errors import ConfigError
from tests.conftest import ACME_ID

WHSEC = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
META = {"source": "meta_lead_ads", "secret": "s" * 16, "verify_token": "v" * 16,
        "page_access_token": "t" * 16}
GOOGLE = {"source": "google_lead_forms", "google_key": "g" * 16}
KEYS = {   # key -> (where it sits, what else it needs)
    "mega.base_url": (("mega",), {}),
    "alerts.slack_webhook_url": (("alerts",), {}),
    "alerts.webhook_url": (("alerts",), {"webhook_secret": WHSEC}),
    "routes.r.graph_api_url": (("routes", "r"), META),
    "routes.r.ads_api_url": (("routes", "r"), GOOGLE),
    "routes.r.oauth_token_url": (("routes", "r"), GOOGLE),
}


def config_with(key: str, url: str) -> dict[str, Any]:
    raw: dict[str, Any] = {"customers": {"acme": {"customer_id": ACME_ID, "token": "t"}},
                           "routes": {"r": {"customer": "acme", "source": "generic",
                                            "url_token": "x" * 16}}}
    path, extra = KEYS[key]
    table = raw
    for part in path:
        table = table.setdefault(part, {})
    table.update({**extra, key.rsplit(".", 1)[1]: url})
    return raw


@pytest.mark.parametrize("key", sorted(KEYS))
def test_a_credential_url_over_plain_http_is_refused_naming_its_key(key: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(config_with(key, "http://api.example.com/path"), env={})
    assert str(info.value).startswith(f"{key}: must be https")


@pytest.mark.parametrize("key", sorted(KEYS))
@pytest.mark.parametrize("url", ["https://api.example.com/path", "http://127.0.0.1:8090/x",
                                 "http://127.8.9.10/x", "http://localhost:8090/x",
                                 "http://[::1]:8090/x"])
def test_https_or_a_loopback_address_is_accepted(key: str, url: str) -> None:
    config_from_dict(config_with(key, url), env={})


@pytest.mark.parametrize("url", ["http://127.0.0.1.example.com/x", "http://10.0.0.5/x",
                                 "http://[::2]/x", "http://localhost.example.com/x"])
def test_what_only_looks_like_loopback_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="mega.base_url: must be https"):
        config_from_dict(config_with("mega.base_url", url), env={})


@pytest.mark.parametrize(("url", "warned"), [
    ("redis://redis.invalid:6379/0", True), ("redis://:pw@10.1.2.3:6379", True),
    ("rediss://redis.invalid:6380/0", False), ("redis://127.0.0.1:1/0", False),
    ("redis://localhost:1/0", False)])
def test_a_plain_redis_url_to_another_machine_is_warned_about_at_start(
        url: str, warned: bool, capsys: pytest.CaptureFixture[str]) -> None:
    config = config_from_dict(config_with("mega.base_url", "https://mega.example.com"),
                              env={"REDIS_URL": url})
    check_redis(config)                                   # starts anyway
    err = capsys.readouterr().err
    assert ("over plain redis:// (no TLS)" in err) is warned
    assert "pw" not in err
