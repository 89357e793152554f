"""The TOML configuration: `${VAR}` interpolation, marshmallow validation, typed objects."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar, overload

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    pre_load,
    validate,
    validates_schema,
)

from gateway import defaults
from gateway.domain.leads import LeadSchema, check_field_target
from gateway.domain.sources.signatures import check_whsec
from gateway.domain.tenancy import Customer, Route
from gateway.domain.urls import require_tls
from gateway.errors import ConfigError
from gateway.sections import AlertsConfig, Config, MegaConfig, RedisConfig, ServerConfig

__all__ = ["Config", "ConfigError", "Customer", "Route", "config_from_dict", "load_config"]

T = TypeVar("T")
ROUTE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:-([^}]*))?\}")
LEFTOVER = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)")
SENSITIVE = re.compile(r"(secret|token|_key|url)$")       # keys of secrets and URLs
SECRET = re.compile(r"(secret|token|_key)$")              # keys of secrets
COMMON_ROUTE_KEYS = ("customer", "source", "lead", "fields")
ENV_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")   # exactly `${VAR}`


def _admin_token(token: str) -> None:
    """An admin token or server secret, when set, is long enough not to be guessed."""
    if token and len(token) < defaults.ADMIN_TOKEN_MIN_CHARS:
        raise ValidationError(f"must be empty or at least "
                              f"{defaults.ADMIN_TOKEN_MIN_CHARS} characters")


class ServerSchema(Schema):
    """The [server] section: admin token, console and contact-index secrets, limits."""

    class Meta:
        unknown = RAISE

    admin_token = fields.String(load_default="", validate=_admin_token)
    # console sessions and the contact index (index.py); empty: derived from admin_token
    secret_key = fields.String(load_default="", validate=_admin_token)
    max_body_kb = fields.Integer(load_default=defaults.MAX_BODY_KB,
                                 validate=validate.Range(1, 102_400))
    dedup_ttl_days = fields.Float(load_default=defaults.DEDUP_TTL_DAYS,
                                  validate=validate.Range(1, 3650))
    # when a 2xx is sent: in Redis's memory, on its disk (WAITAOF), or on a replica (WAIT)
    ack = fields.String(load_default=defaults.ACK,
                        validate=validate.OneOf(("memory", "fsync", "replica")))
    ack_timeout_ms = fields.Integer(load_default=defaults.ACK_TIMEOUT_MS,
                                    validate=validate.Range(1, 60_000))
    # proxy hops in front of the web process whose X-Forwarded-For/-Proto are believed
    trusted_proxies = fields.Integer(load_default=defaults.TRUSTED_PROXIES,
                                     validate=validate.Range(0, defaults.TRUSTED_PROXIES_MAX))
    # a terminal lead's full record, then only its tombstone (till dedup_ttl_days)
    record_retention_hours = fields.Float(load_default=defaults.RECORD_RETENTION_HOURS,
                                          validate=validate.Range(0, 87_600))


class RedisSchema(Schema):
    """What leadgate cannot read from the Redis server itself."""

    class Meta:
        unknown = RAISE

    # the memory limit shown and alerted on when the server's maxmemory is 0 (a host's own)
    max_memory_mb = fields.Integer(validate=validate.Range(1, 16 * 1024 * 1024))


class MegaSchema(Schema):
    """The [mega] section: MEGA's base URL, timeouts, batching and key retention."""

    class Meta:
        unknown = RAISE

    base_url = fields.Url(load_default=defaults.MEGA_BASE_URL, require_tld=False,
                          schemes={"http", "https"}, validate=require_tls)
    timeout_s = fields.Float(load_default=defaults.MEGA_TIMEOUT_S,
                             validate=validate.Range(0.1, 300))
    max_age_hours = fields.Float(load_default=defaults.MAX_AGE_HOURS,
                                 validate=validate.Range(0, 24 * 365, min_inclusive=False))
    key_retention_hours = fields.Float(load_default=defaults.KEY_RETENTION_HOURS,
                                       validate=validate.Range(0, 24 * 365, min_inclusive=False))

    @validates_schema
    def _within_key_retention(self, data: dict[str, Any], **_: Any) -> None:
        if data["max_age_hours"] > data["key_retention_hours"]:
            raise ValidationError(
                f"max_age_hours ({data['max_age_hours']:g}) may not exceed key_retention_hours "
                f"({data['key_retention_hours']:g}): a batch is never resent under a key MEGA "
                "may have forgotten", field_name="max_age_hours")


class AlertsSchema(Schema):
    """Where alerts go: a Slack-compatible incoming webhook and/or a signed JSON webhook."""

    class Meta:
        unknown = RAISE

    slack_webhook_url = fields.Url(require_tld=False, schemes={"http", "https"},
                                   validate=require_tls)
    webhook_url = fields.Url(require_tld=False, schemes={"http", "https"}, validate=require_tls)
    webhook_secret = fields.String(validate=check_whsec)   # the routes' own check
    stale_after_min = fields.Integer(load_default=defaults.ALERT_STALE_AFTER_MIN,
                                     validate=validate.Range(1, 7 * 24 * 60))
    timeout_s = fields.Float(load_default=defaults.ALERT_TIMEOUT_S,
                             validate=validate.Range(0.1, 60))

    @pre_load
    def _blank(self, data: Any, **_: Any) -> Any:
        """An empty `${VAR:-}` means not set."""
        return {k: v for k, v in data.items() if v != ""} if isinstance(data, dict) else data

    @validates_schema
    def _signed(self, data: dict[str, Any], **_: Any) -> None:
        if bool(data.get("webhook_url")) != bool(data.get("webhook_secret")):
            raise ValidationError("webhook_url and webhook_secret go together",
                                  "webhook_secret")


class CustomerSchema(Schema):
    """One [customers.<name>] table: MEGA's customer id, its token, delivery options."""

    class Meta:
        unknown = RAISE

    customer_id = fields.UUID(required=True)
    token = fields.String(required=True, validate=validate.Length(min=1))
    delivery = fields.String(load_default="auto",
                             validate=validate.OneOf(("auto", "single", "bulk")))
    max_batch = fields.Integer(load_default=defaults.MAX_BATCH, validate=validate.Range(1, 500))
    linger_ms = fields.Integer(load_default=defaults.LINGER_MS,
                               validate=validate.Range(0, 600_000))
    on_duplicate = fields.String(load_default="update",
                                 validate=validate.OneOf(("update", "skip")))


class RouteCommonSchema(Schema):
    """The keys every route has (customer, source, lead, fields); the source checks the rest."""

    class Meta:
        unknown = EXCLUDE   # the adapter's own schema checks the remaining keys

    customer = fields.String(required=True)
    source = fields.String(required=True)
    lead = fields.Dict(keys=fields.String(), load_default=dict)
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields",
                          load_default=dict)

    @validates_schema
    def _targets(self, data: dict[str, Any], **_: Any) -> None:
        errors = {f"fields.{src}": [msg] for src, target in data["fields_"].items()
                  if (msg := check_field_target(target))}
        if errors:
            raise ValidationError(errors)


def interpolate(value: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Replace `${VAR}` and `${VAR:-default}` in every string of the parsed TOML."""
    if isinstance(value, dict):
        return {k: interpolate(v, env, f"{path}.{k}" if path else k) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, f"{path}.{i}") for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value
    if SENSITIVE.search(path):
        check_references(value, path)
    if SECRET.search(path):
        check_no_default(value, path)

    def substitute(match: re.Match[str]) -> str:
        """The value of one ${VAR} or ${VAR:-default} from the environment."""
        name, has_default, default = match.group(1), match.group(2), match.group(3)
        if name in env and (env[name] or not has_default):
            return env[name]
        if has_default:
            return default or ""
        raise ConfigError(f"{path}: environment variable {name} is not set")

    return VAR.sub(substitute, value)


def check_references(text: str, path: str) -> None:
    """A secret or URL must not keep a `$` reference that interpolation would leave as text
    (`$VAR` without braces, a nested `${A:-${B}}`): it would become a guessable literal."""
    for match in VAR.finditer(text):
        if (nested := LEFTOVER.search(match.group(3) or "")):
            raise ConfigError(f"{path}: the default of ${{{match.group(1)}}} refers to "
                              f"{nested.group(1)}; nested references are not supported")
    if (leftover := LEFTOVER.search(VAR.sub("", text))):
        raise ConfigError(f"{path}: '{leftover.group(0)}' is not replaced from the environment "
                          f"(write ${{{leftover.group(1)}}})")


def check_no_default(text: str, path: str) -> None:
    """A secret may not fall back to a literal: a misspelt variable would leave a guessable
    secret in force. An empty default (`${VAR:-}`) is fine: empty never authenticates."""
    for match in VAR.finditer(text):
        if match.group(3):
            raise ConfigError(f"{path}: a secret may not have a default "
                              f"(${{{match.group(1)}:-…}}); set the variable")
def check_env_only(routes: Any) -> None:
    """Route settings a source lists in its schema's `env_only` (API secrets) must be written as
    `${VAR}`: the secret lives in the environment, never in the file."""
    from gateway.domain.sources import SOURCES

    for name, spec in routes.items() if isinstance(routes, dict) else ():
        kind = spec.get("source") if isinstance(spec, dict) else None
        source = SOURCES.get(kind) if isinstance(kind, str) else None
        for key in getattr(source.settings_schema, "env_only", ()) if source else ():
            if key in spec and not (isinstance(spec[key], str) and ENV_REFERENCE.match(spec[key])):
                raise ConfigError(f"routes.{name}.{key}: write it as ${{VAR}} and set the "
                                  "variable (this secret may not sit in the file)")


NO_CONFIG_HINT = ("set LEADGATE_CONFIG to the config file, or LEADGATE_CONFIG_TOML to its "
                  "text; leadgate.example.toml shows one")
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def load_config(path: str | Path | None = None, *, env: Mapping[str, str] | None = None
                ) -> Config:
    """Read, interpolate and validate the config: the LEADGATE_CONFIG_TOML text if set (handy
    as one Heroku config var), else the file (path, LEADGATE_CONFIG or ./leadgate.toml)."""
    env = os.environ if env is None else env
    if path is None and env.get("LEADGATE_CONFIG_TOML", "").strip():
        try:
            raw = tomllib.loads(env["LEADGATE_CONFIG_TOML"])
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"LEADGATE_CONFIG_TOML: not valid TOML: {exc}") from None
        try:
            return config_from_dict(raw, env=env, source_path="LEADGATE_CONFIG_TOML")
        except ConfigError as exc:
            raise ConfigError(f"LEADGATE_CONFIG_TOML: {exc}") from None
    path = Path(path or env.get("LEADGATE_CONFIG") or "leadgate.toml")
    raw = _read_toml(path)
    try:
        return config_from_dict(raw, env=env, source_path=str(path))
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def _read_toml(path: Path) -> dict[str, Any]:
    """The file's TOML; every way it cannot be read is a ConfigError that says what to do."""
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file ({NO_CONFIG_HINT})") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory: name the config file itself "
                          f"(--config or LEADGATE_CONFIG)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text (TOML must be UTF-8): save it as UTF-8"
                          ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def config_from_dict(raw: dict[str, Any], *, env: Mapping[str, str] | None = None,
                     source_path: str = "") -> Config:
    """Validate an already parsed config (tests pass dicts here)."""
    env = os.environ if env is None else env
    check_env_only(raw.get("routes"))
    data = interpolate(raw, env)
    unknown = sorted(set(data) - {"server", "mega", "customers", "routes", "alerts", "redis"})
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section")
    server = ServerConfig(**_load(ServerSchema(), data.get("server", {}), "server"))
    mega = MegaConfig(**_load(MegaSchema(), data.get("mega", {}), "mega"))
    customers = {name: Customer(name=name, **{**c, "customer_id": str(c["customer_id"])})
                 for name, c in _tables(data, "customers", CustomerSchema()).items()}
    if not customers:
        raise ConfigError("customers: at least one [customers.<name>] table is required")
    routes = {name: _route(name, spec, customers) for name, spec in
              _section(data, "routes").items()}
    alerts = AlertsConfig(**_load(AlertsSchema(), data.get("alerts", {}), "alerts"))
    return Config(server, mega, customers, routes, redis_url=redis_url(env),
                  source_path=source_path, alerts=alerts,
                  redis=RedisConfig(**_load(RedisSchema(), data.get("redis", {}), "redis")),
                  allow_eviction=env.get("LEADGATE_ALLOW_EVICTION", "").strip() == "1")


def redis_url(env: Mapping[str, str]) -> str:
    """REDIS_URL; `rediss://` certificates are verified unless REDIS_TLS_VERIFY=none (Heroku
    Redis's certificates are self-signed), which turns the check off in the URL."""
    url = env.get("REDIS_URL", "")
    if url and not url.startswith(REDIS_SCHEMES):
        raise ConfigError(f"REDIS_URL: must start with {', '.join(REDIS_SCHEMES)} "
                          f"(e.g. redis://localhost:6379)")
    verify = env.get("REDIS_TLS_VERIFY", "").strip().lower() or "required"
    if verify not in ("required", "none"):
        raise ConfigError("REDIS_TLS_VERIFY: must be 'required' (the default) or 'none'")
    if verify == "none" and url.startswith("rediss://") and "ssl_cert_reqs=" not in url:
        url += ("&" if "?" in url else "?") + "ssl_cert_reqs=none"
    return url


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    section = data.get(name, {})
    if not isinstance(section, dict):
        raise ConfigError(f"{name}: must be a table")
    for key, value in section.items():
        if not ROUTE_NAME.match(key):
            raise ConfigError(f"{name}.{key}: names may hold letters, digits, '-', '_', '.'")
        if not isinstance(value, dict):
            raise ConfigError(f"{name}.{key}: must be a table")
    return section


def _tables(data: dict[str, Any], name: str, schema: Schema) -> dict[str, dict[str, Any]]:
    return {key: _load(schema, value, f"{name}.{key}")
            for key, value in _section(data, name).items()}


def _route(name: str, spec: dict[str, Any], customers: dict[str, Customer]) -> Route:
    from gateway.domain.sources import SOURCES

    where = f"routes.{name}"
    common = _load(RouteCommonSchema(), spec, where)
    if common["customer"] not in customers:
        raise ConfigError(f"{where}.customer: unknown customer '{common['customer']}'")
    source = SOURCES.get(common["source"])
    if source is None:
        raise ConfigError(f"{where}.source: unknown source '{common['source']}' "
                          f"(one of: {', '.join(sorted(SOURCES))})")
    lead = _load(LeadSchema(partial=True), common["lead"], f"{where}.lead")
    own = {k: v for k, v in spec.items() if k not in COMMON_ROUTE_KEYS}
    settings = _load(source.load_settings, own, where)
    return Route(name, common["customer"], common["source"], lead, common["fields_"], settings)


@overload
def _load(schema: Schema, data: Any, where: str) -> dict[str, Any]: ...


@overload
def _load(schema: Callable[[Any], T], data: Any, where: str) -> T: ...


def _load(schema: Schema | Callable[[Any], Any], data: Any, where: str) -> Any:
    """What schema (or a loader) makes of data; a ValidationError names where and the key."""
    load = schema.load if isinstance(schema, Schema) else schema
    try:
        return load(data)
    except ValidationError as exc:
        key, message = _first_message(exc.messages)
        raise ConfigError(f"{where}.{key}: {message}" if key else f"{where}: {message}") from None


def _first_message(messages: Any, prefix: str = "") -> tuple[str, str]:
    if isinstance(messages, dict):
        key, value = next(iter(messages.items()))
        key = "" if key == "_schema" else str(key)
        return _first_message(value, f"{prefix}.{key}".strip(".") if key else prefix)
    if isinstance(messages, list):
        return _first_message(messages[0], prefix)
    text = str(messages)
    if text == "Unknown field.":
        text = "unknown key"
    return prefix, text.rstrip(".")
