"""Configuration: interpolation, validation errors that name the key, the example file."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from gateway.config import config_from_dict, load_config
from gateway.errors import ConfigError
from gateway.local import local_run
from tests.conftest import ACME_ID, base_config

ROOT = Path(__file__).resolve().parents[1]


def minimal(**route: Any) -> dict[str, Any]:
    return {"customers": {"acme": {"customer_id": ACME_ID, "token": "t"}},
            "routes": {"r": {"customer": "acme", "source": "generic",
                             "url_token": "x" * 16, **route}}}


def test_interpolation_with_defaults_and_env() -> None:
    raw = minimal()
    raw["customers"]["acme"]["token"] = "${TOKEN}"
    raw["mega"] = {"base_url": "${MEGA:-http://127.0.0.1:9}"}
    config = config_from_dict(raw, env={"TOKEN": "secret", "REDIS_URL": "redis://x"})
    assert config.customers["acme"].token == "secret"
    assert config.mega.base_url == "http://127.0.0.1:9"
    assert config.redis_url == "redis://x"
    assert config.customers["acme"].linger_ms == 500 and config.customers["acme"].max_batch == 500


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["customers"]["acme"].update(token="${NOPE}"),
     "customers.acme.token: environment variable NOPE is not set"),
    (lambda c: c["customers"]["acme"].update(customer_id="acme"),
     "customers.acme.customer_id: Not a valid UUID"),
    (lambda c: c["customers"]["acme"].update(max_batch=501),
     "customers.acme.max_batch: Must be greater than or equal to 1 and less than or equal to 500"),
    (lambda c: c["customers"]["acme"].update(delivery="fast"),
     "customers.acme.delivery: Must be one of: auto, single, bulk"),
    (lambda c: c["customers"]["acme"].update(colour="red"), "customers.acme.colour: unknown key"),
    (lambda c: c["routes"]["r"].update(customer="acmee"),
     "routes.r.customer: unknown customer 'acmee'"),
    (lambda c: c["routes"]["r"].update(source="myspace"), "routes.r.source: unknown source"),
    (lambda c: c["routes"]["r"].update(fields={"a": "contact_fax"}),
     "routes.r.fields.a: unknown MEGA field 'contact_fax'"),
    (lambda c: c["routes"]["r"].update(lead={"source_platform": "myspace"}),
     "routes.r.lead.source_platform: Must be one of"),
    (lambda c: c["routes"]["r"].pop("url_token"),
     "routes.r.url_token: a generic route needs url_token or hmac_secret"),
    (lambda c: c["routes"]["r"].update(url_token="short"),
     "routes.r.url_token: Shorter than minimum length 16"),
    (lambda c: c["routes"]["r"].update(hmac_header_typo="x"), "routes.r.hmac_header_typo: unknown"),
    (lambda c: c.update(mega={"base_url": "not a url"}), "mega.base_url: Not a valid URL"),
    (lambda c: c.update(server={"max_body_kb": 0}), "server.max_body_kb"),
    (lambda c: c.update(server={"trusted_proxies": -1}), "server.trusted_proxies: Must be"),
    (lambda c: c.update(server={"trusted_proxies": "one"}),
     "server.trusted_proxies: Not a valid integer"),
    (lambda c: c.update(extra={}), "extra: unknown section"),
    (lambda c: c.update(customers={}), "customers: at least one"),
    (lambda c: c.update(alerts={"webhook_url": "http://127.0.0.1:9/a"}),
     "alerts.webhook_secret: webhook_url and webhook_secret go together"),
    (lambda c: c.update(alerts={"webhook_url": "https://x.example/a", "webhook_secret": "nope"}),
     "alerts.webhook_secret: must be whsec_ followed by base64"),
    (lambda c: c.update(alerts={"webhook_url": "https://x.example/a",
                                "webhook_secret": "whsec_abcdefghi"}),     # not base64
     "alerts.webhook_secret: must be whsec_ followed by base64"),
    (lambda c: c.update(alerts={"slack_url": "https://x.example/a"}), "alerts.slack_url: unknown"),
    (lambda c: c.update(alerts={"stale_after_min": 0}), "alerts.stale_after_min"),
    (lambda c: c["routes"]["r"].update(source="meta_lead_ads", secret="s" * 8,
                                       verify_token="v" * 16, page_access_token="t" * 8,
                                       forms=["not-a-form-id"]),
     "routes.r.forms.0: String does not match expected pattern"),
])
def test_bad_config_names_the_key(change: Any, message: str) -> None:
    raw = minimal()
    change(raw)
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw, env={})
    assert message in str(info.value)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(("change", "message"), [
    (lambda c: c["routes"]["r"].update(url_token="$ACME_URL_TOKEN"),
     "routes.r.url_token: '$ACME_URL_TOKEN' is not replaced from the environment "
     "(write ${ACME_URL_TOKEN})"),
    (lambda c: c["customers"]["acme"].update(token="${A:-${B}}"),
     "customers.acme.token: the default of ${A} refers to B; nested references"),
    (lambda c: c["customers"]["acme"].update(token="mega_$TOKEN_SUFFIX"),
     "customers.acme.token: '$TOKEN_SUFFIX' is not replaced"),
    (lambda c: c.update(mega={"base_url": "https://$MEGA_HOST/api"}),
     "mega.base_url: '$MEGA_HOST' is not replaced"),
    (lambda c: c["routes"]["r"].update(source="typeform", secret="${TYPEFORM_SECRET}"),
     "routes.r.secret: environment variable TYPEFORM_SECRET is not set"),
    (lambda c: c.update(server={"admin_token": "x" * 31}),
     "server.admin_token: must be empty or at least 32 characters"),
    (lambda c: c["routes"]["r"].update(source="typeform", secret="s" * 15),
     "routes.r.secret: Shorter than minimum length 16"),
    (lambda c: c["routes"]["r"].update(source="tally", secret="s" * 15),
     "routes.r.secret: Shorter than minimum length 16"),
    (lambda c: c["routes"]["r"].update(hmac_secret="s" * 15),
     "routes.r.hmac_secret: Shorter than minimum length 16"),
    (lambda c: c["routes"]["r"].update(source="google_lead_forms", google_key="s" * 15),
     "routes.r.google_key: Shorter than minimum length 16"),
    (lambda c: c["routes"]["r"].update(source="livechat", secret_key="s" * 15),
     "routes.r.secret_key: Shorter than minimum length 16"),
    (lambda c: c["routes"]["r"].update(source="meta_lead_ads", secret="app-secret",
                                       verify_token="s" * 15, page_access_token="EAAG1234"),
     "routes.r.verify_token: Shorter than minimum length 16"),
])
def test_guessable_secrets_stop_the_process_naming_key_and_variable(change: Any,
                                                                    message: str) -> None:
    raw = minimal()
    change(raw)
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw, env={"A": "", "MEGA_HOST": "x"})
    assert message in str(info.value)


def test_dollar_signs_elsewhere_and_in_values_from_the_environment_are_fine() -> None:
    raw = minimal(lead={"custom_fields": {"note": "$USD only"}})
    raw["server"] = {"admin_token": "${ADMIN}"}
    raw["routes"]["r"]["url_token"] = "${URL_TOKEN}"
    config = config_from_dict(raw, env={"ADMIN": "$Ab" * 11, "URL_TOKEN": "tok$en" * 3})
    assert config.server.admin_token == "$Ab" * 11
    assert config.routes["r"].settings.url_token == "tok$en" * 3
    assert config.routes["r"].lead["custom_fields"] == {"note": "$USD only"}


def test_dev_config_is_valid_and_its_admin_token_long_enough() -> None:
    config = load_config(ROOT / "gateway" / "local" / "dev.toml", env=local_run.DEV_ENV)
    assert len(config.server.admin_token) >= 32 and "dev" in config.server.admin_token


def test_bad_toml_and_missing_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[customers\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad, env={})
    with pytest.raises(ConfigError, match="no such file"):
        load_config(tmp_path / "missing.toml", env={})


def test_example_config_is_valid() -> None:
    config = load_config(ROOT / "leadgate.example.toml",
                         env={"MEGA_TOKEN_ACME": "mega_x", "LEADGATE_ADMIN_TOKEN": "a" * 32,
                              "ACME_SITE_URL_TOKEN": "u" * 32})
    assert config.routes and config.customers
    assert config.server.trusted_proxies == 0
    behind = load_config(ROOT / "leadgate.example.toml", env={
        "MEGA_TOKEN_ACME": "mega_x", "LEADGATE_TRUSTED_PROXIES": "1",
        "ACME_SITE_URL_TOKEN": "u" * 32})
    assert behind.server.trusted_proxies == 1           # app.json sets it for Heroku


def test_the_example_with_its_url_token_variable_misspelt_stops() -> None:
    with pytest.raises(ConfigError, match="ACME_SITE_URL_TOKEN is not set"):
        load_config(ROOT / "leadgate.example.toml",
                    env={"MEGA_TOKEN_ACME": "mega_x", "ACME_SITE_URL_TOKN": "u" * 32})


@pytest.mark.parametrize(("change", "where"), [
    (lambda c: c["routes"]["r"].update(url_token="${ACME_SITE_URL_TOKEN:-change-me-to-a-long"
                                                 "-random-token}"), "routes.r.url_token"),
    (lambda c: c.update(server={"admin_token": "${LEADGATE_ADMIN_TOKEN:-" + "d" * 32 + "}"}),
     "server.admin_token"),
    (lambda c: c["customers"]["acme"].update(token="mega_${SUFFIX:-x}"), "customers.acme.token"),
    (lambda c: c["routes"]["r"].update(source="typeform", secret="${TF:-" + "s" * 16 + "}"),
     "routes.r.secret"),
])
def test_a_secret_with_a_default_stops_the_process(change: Any, where: str) -> None:
    raw = minimal()
    change(raw)
    with pytest.raises(ConfigError) as info:
        config_from_dict(raw, env={})
    assert str(info.value).startswith(f"{where}: a secret may not have a default (${{")
    assert str(info.value).endswith(":-…}); set the variable")
    assert "change-me" not in str(info.value) and "ddd" not in str(info.value)


def test_an_empty_default_in_a_secret_is_fine_and_never_authenticates() -> None:
    raw = minimal()
    raw["server"] = {"admin_token": "${LEADGATE_ADMIN_TOKEN:-}"}
    assert config_from_dict(raw, env={}).server.admin_token == ""      # admin API off
    raw["routes"]["r"]["url_token"] = "${URL_TOKEN:-}"
    with pytest.raises(ConfigError, match="routes.r.url_token: Shorter than minimum length"):
        config_from_dict(raw, env={})


def test_check_config_command(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text(f'[customers.acme]\ncustomer_id = "{ACME_ID}"\ntoken = "t"\n'
                    '[routes.r]\ncustomer = "acme"\nsource = "generic"\n'
                    f'url_token = "{"x" * 16}"\n')
    ok = CliRunner().invoke(cli, ["check-config", "--config", str(good)])
    assert ok.exit_code == 0 and "/hooks/r" in ok.output
    good.write_text(good.read_text().replace('source = "generic"', 'source = "nope"'))
    bad = CliRunner().invoke(cli, ["check-config", "--config", str(good)])
    assert bad.exit_code == 1
    assert "routes.r.source: unknown source 'nope'" in bad.output


def test_test_config_builds() -> None:
    assert config_from_dict(base_config("redis://x", "http://127.0.0.1:1"), env={}).routes


def test_max_age_may_not_exceed_key_retention() -> None:
    config = base_config("redis://x", "https://mega.test")
    config["mega"].update(max_age_hours=30, key_retention_hours=24)
    with pytest.raises(ConfigError, match="may not exceed key_retention_hours"):
        config_from_dict(config, env={})
    config["mega"]["key_retention_hours"] = 48
    assert config_from_dict(config, env={}).mega.max_age_hours == 30


@pytest.mark.parametrize("command", ["web", "worker"])
def test_web_and_worker_refuse_to_start_without_redis_url(command: str) -> None:
    from gateway.local.dev_run import DEV_CONFIG

    result = CliRunner().invoke(cli, [command, "--config", str(DEV_CONFIG)],
                                env={"REDIS_URL": None, **local_run.DEV_ENV})
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        f"Error: REDIS_URL is not set: `leadgate {command}` needs a Redis "
        "(only `leadgate dev` and the tests start an embedded one)"]


GOOGLE_ENV = {"GADS_DEV": "dev-token-123456", "GADS_CLIENT": "client-id-123.apps",
              "GADS_SECRET": "client-secret-123", "GADS_REFRESH": "1//refresh-token-123"}


def google(**settings: Any) -> dict[str, Any]:
    """A Google lead-form route with reconciliation's credentials, as ${VAR}s."""
    raw = minimal()
    raw["routes"]["r"] = {"customer": "acme", "source": "google_lead_forms",
                          "google_key": "k" * 16, "ads_customer_id": "123-456-7890",
                          "developer_token": "${GADS_DEV}", "oauth_client_id": "${GADS_CLIENT}",
                          "oauth_client_secret": "${GADS_SECRET}",
                          "oauth_refresh_token": "${GADS_REFRESH}", **settings}
    return raw


def test_google_reconciliation_settings_and_defaults() -> None:
    settings = config_from_dict(google(login_customer_id="9998887777"),
                                env=GOOGLE_ENV).routes["r"].settings
    assert settings.ads_customer_id == "1234567890"
    assert settings.login_customer_id == "9998887777"
    assert settings.developer_token == "dev-token-123456"
    assert settings.reconcile_every_min == 15 and settings.forms == ()
    assert settings.ads_api_url == "https://googleads.googleapis.com/v21"
    assert settings.oauth_token_url == "https://oauth2.googleapis.com/token"
    plain = minimal()
    plain["routes"]["r"] = {"customer": "acme", "source": "google_lead_forms",
                            "google_key": "k" * 16}
    assert config_from_dict(plain, env={}).routes["r"].settings.ads_customer_id == ""


@pytest.mark.parametrize(("change", "message"), [
    ({"developer_token": "dev-token-in-the-file"},
     "routes.r.developer_token: write it as ${VAR}"),
    ({"oauth_refresh_token": "${GADS_REFRESH:-1//fallback-token}"},
     "routes.r.oauth_refresh_token: write it as ${VAR}"),
    ({"oauth_client_id": "$GADS_CLIENT"}, "routes.r.oauth_client_id: write it as ${VAR}"),
    ({"oauth_client_secret": None}, "routes.r.oauth_client_secret: write it as ${VAR}"),
    ({"ads_customer_id": "12345"}, "routes.r.ads_customer_id: must be a 10-digit"),
    ({"login_customer_id": "abc"}, "routes.r.login_customer_id: must be a 10-digit"),
    ({"forms": ["asset-1"]}, "routes.r.forms.0: String does not match"),
    ({"forms": []}, "routes.r.forms: Length must be between 1 and 200"),
    ({"reconcile_every_min": -1}, "routes.r.reconcile_every_min: Must be greater"),
    ({"ads_api_url": "not a url"}, "routes.r.ads_api_url: Not a valid URL"),
    ({"oauth_token_url": "ftp://x.example/token"}, "routes.r.oauth_token_url: Not a valid URL"),
])
def test_bad_google_settings_name_the_key(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_from_dict(google(**change), env=GOOGLE_ENV)
    assert str(caught.value).startswith(message)


@pytest.mark.parametrize("missing", ["ads_customer_id", "developer_token", "oauth_client_id",
                                     "oauth_client_secret", "oauth_refresh_token"])
def test_google_credentials_go_together(missing: str) -> None:
    raw = google()
    del raw["routes"]["r"][missing]
    with pytest.raises(ConfigError, match=f"routes.r.{missing}: reconciliation needs"):
        config_from_dict(raw, env=GOOGLE_ENV)


def test_a_source_that_is_not_a_string_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="routes.r.source: Not a valid string"):
        config_from_dict(google(source=["google_lead_forms"]), env=GOOGLE_ENV)


def test_google_login_customer_id_alone_is_refused() -> None:
    raw = minimal()
    raw["routes"]["r"] = {"customer": "acme", "source": "google_lead_forms",
                          "google_key": "k" * 16, "login_customer_id": "9998887777"}
    with pytest.raises(ConfigError, match="routes.r.login_customer_id: needs ads_customer_id"):
        config_from_dict(raw, env={})


def test_reprs_of_the_config_customers_and_routes_hold_no_secret() -> None:
    raw = minimal()
    raw["server"] = {"admin_token": "admin-token-" + "1" * 24,
                     "secret_key": "server-key-" + "2" * 24}
    raw["customers"]["acme"]["token"] = "mega_" + "3" * 64
    raw["routes"]["r"]["url_token"] = "route-url-token-" + "4" * 16
    raw["routes"]["m"] = {"customer": "acme", "source": "meta_lead_ads",
                          "secret": "meta-app-secret-" + "5" * 8,
                          "verify_token": "meta-verify-" + "6" * 8,
                          "page_access_token": "page-token-" + "7" * 8}
    raw["alerts"] = {"slack_webhook_url": "https://hooks.slack.com/services/T/B/" + "8" * 24,
                     "webhook_url": "https://alerts.example.com/in",
                     "webhook_secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}
    config = config_from_dict(raw, env={"REDIS_URL": "redis://:redis-pass-999@127.0.0.1:1/0"})
    secrets = ["1" * 24, "2" * 24, "3" * 64, "4" * 16, "5" * 8, "6" * 8, "7" * 8, "8" * 24,
               "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "redis-pass-999"]
    shown = [repr(config), str(config), repr(config.customers["acme"]),
             str(config.customers["acme"]), *map(repr, config.routes.values()),
             *map(str, config.routes.values())]
    assert "acme" in shown[0] and "meta_lead_ads" in shown[0]        # still useful
    assert [s for s in secrets if any(s in text for text in shown)] == []


def test_sections_are_frozen_dataclasses_with_their_units() -> None:
    raw = minimal()
    raw["server"] = {"dedup_ttl_days": 2, "record_retention_hours": 0.5, "max_body_kb": 8}
    raw["mega"] = {"max_age_hours": 1.5, "key_retention_hours": 2}
    raw["alerts"] = {"stale_after_min": 3}
    config = config_from_dict(raw, env={})
    assert (config.server.dedup_ttl_s, config.server.record_retention_ms,
            config.server.max_body_bytes) == (172_800, 1_800_000, 8192)
    assert (config.mega.max_age_ms, config.mega.max_age_s, config.mega.key_retention_ms) == (
        5_400_000, 5400, 7_200_000)
    assert config.alerts.stale_after_ms == 180_000 and config.alerts.webhook_url == ""
    assert config.redis.max_memory_mb is None
    for section in (config.server, config.mega, config.alerts, config.redis):
        assert not isinstance(section, dict)
        with pytest.raises(dataclasses.FrozenInstanceError):
            section.timeout_s = 1      # type: ignore[misc, union-attr]


def test_each_route_gets_its_source_s_typed_settings() -> None:
    from gateway.domain.sources import SOURCES
    from tests.samples import SETTINGS

    raw = minimal()
    own = {**SETTINGS, "twilio": {"auth_token": "t" * 16, "min_duration_s": 5},
           "mailgun": {"signing_key": "k" * 16}, "generic": {"url_token": "x" * 16},
           "callrail": {"secret": "s" * 16, "first_contact_only": True}}
    raw["routes"] = {source: {"customer": "acme", "source": source, **settings}
                     for source, settings in own.items()}
    routes = config_from_dict(raw, env={}).routes
    assert set(routes) == set(SOURCES)                     # every source is covered
    for name, route in routes.items():
        assert type(route.settings) is SOURCES[name].settings_type
        with pytest.raises(dataclasses.FrozenInstanceError):
            route.settings.default_region = "GB"           # type: ignore[misc]
    assert routes["meta_lead_ads"].settings.forms == () and \
        routes["typeform"].settings.secret == SETTINGS["typeform"]["secret"] and \
        routes["twilio"].settings.min_duration_s == 5
