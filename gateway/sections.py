"""The typed configuration: one frozen dataclass per section, built by the loader
(gateway/config.py) from the marshmallow-validated TOML. Units are in the names."""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway import defaults
from gateway.domain.tenancy import Customer, Route

MS_PER_HOUR = 3_600_000
S_PER_DAY = 86_400


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    """[server]: the web process's limits and secrets; its repr leaves out the secrets."""

    admin_token: str = field(default="", repr=False)     # empty: admin API and console off
    secret_key: str = field(default="", repr=False)      # empty: derived from admin_token
    max_body_kb: int = defaults.MAX_BODY_KB
    dedup_ttl_days: float = defaults.DEDUP_TTL_DAYS
    ack: str = defaults.ACK                              # memory | fsync | replica
    ack_timeout_ms: int = defaults.ACK_TIMEOUT_MS
    trusted_proxies: int = defaults.TRUSTED_PROXIES
    record_retention_hours: float = defaults.RECORD_RETENTION_HOURS

    @property
    def max_body_bytes(self) -> int:
        """The largest request body accepted (bytes)."""
        return self.max_body_kb * 1024

    @property
    def dedup_ttl_s(self) -> int:
        """How long an event key is kept to answer a resend as a duplicate (s)."""
        return int(self.dedup_ttl_days * S_PER_DAY)

    @property
    def record_retention_ms(self) -> int:
        """How long a finished event keeps its whole record before compaction (ms)."""
        return int(self.record_retention_hours * MS_PER_HOUR)


@dataclass(frozen=True, kw_only=True)
class MegaConfig:
    """[mega]: where MEGA is and how long a batch may keep trying."""

    base_url: str = defaults.MEGA_BASE_URL
    timeout_s: float = defaults.MEGA_TIMEOUT_S
    max_age_hours: float = defaults.MAX_AGE_HOURS
    key_retention_hours: float = defaults.KEY_RETENTION_HOURS

    @property
    def max_age_ms(self) -> int:
        """How long a batch may keep trying before it is dead-lettered (ms)."""
        return int(self.max_age_hours * MS_PER_HOUR)

    @property
    def max_age_s(self) -> int:
        """max_age_ms in seconds."""
        return int(self.max_age_hours * 3600)

    @property
    def key_retention_ms(self) -> int:
        """How long MEGA is assumed to keep an idempotency key (ms)."""
        return int(self.key_retention_hours * MS_PER_HOUR)


@dataclass(frozen=True, kw_only=True)
class AlertsConfig:
    """[alerts]: where alerts go (empty: not there); its repr leaves out URLs and secret."""

    slack_webhook_url: str = field(default="", repr=False)
    webhook_url: str = field(default="", repr=False)
    webhook_secret: str = field(default="", repr=False)
    stale_after_min: int = defaults.ALERT_STALE_AFTER_MIN
    timeout_s: float = defaults.ALERT_TIMEOUT_S

    @property
    def stale_after_ms(self) -> int:
        """How old the oldest waiting lead may get before the backlog is stale (ms)."""
        return self.stale_after_min * 60_000


@dataclass(frozen=True, kw_only=True)
class RedisConfig:
    """[redis]: what leadgate cannot read from the Redis server itself."""

    max_memory_mb: int | None = None     # shown and alerted on when the server's maxmemory is 0


@dataclass(frozen=True)
class Config:
    """The whole configuration; its repr shows customers and routes (their own reprs hold no
    secret) and leaves out the sections that hold secrets or secret URLs."""

    server: ServerConfig = field(repr=False)
    mega: MegaConfig = field(repr=False)
    customers: dict[str, Customer]
    routes: dict[str, Route]
    redis_url: str = field(default="", repr=False)
    source_path: str = ""
    alerts: AlertsConfig = field(default_factory=AlertsConfig, repr=False)
    redis: RedisConfig = field(default_factory=RedisConfig)
    allow_eviction: bool = False          # LEADGATE_ALLOW_EVICTION=1: an evicting Redis runs

    @property
    def dedup_ttl_s(self) -> int:
        """server.dedup_ttl_s, which every store write of an event needs (s)."""
        return self.server.dedup_ttl_s

    @property
    def record_retention_ms(self) -> int:
        """server.record_retention_ms (ms)."""
        return self.server.record_retention_ms
