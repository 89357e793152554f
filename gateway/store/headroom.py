"""What the Redis server promises leadgate: memory headroom, no eviction, and the durability
server.ack asks for. Read from INFO (Heroku's Redis refuses CONFIG GET)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import redis

from gateway import defaults
from gateway.config import Config
from gateway.errors import ConfigError

EVICTION_FIX = ("set maxmemory-policy to noeviction (on Heroku: heroku redis:maxmemory "
                "--policy noeviction), or set LEADGATE_ALLOW_EVICTION=1 to run anyway")


@dataclass(frozen=True)
class Memory:
    """Redis's used memory against its limit (0: unknown), and where the limit came from."""

    used: int
    limit: int
    source: str = ""               # "maxmemory", "redis.max_memory_mb" or "" (unknown)

    @property
    def percent(self) -> float | None:
        """The memory used, as a percentage of the limit (None without a limit)."""
        return 100.0 * self.used / self.limit if self.limit else None

    def line(self) -> str:
        """One line for `leadgate status`."""
        used = f"{self.used / 1e6:.1f} MB"
        if self.percent is None:
            return (f"redis memory: {used} used, limit unknown (maxmemory is 0; set "
                    "redis.max_memory_mb to your plan's size)")
        return (f"redis memory: {used} of {self.limit / 1e6:.1f} MB ({self.percent:.0f}%, "
                f"limit from {self.source})")


def memory(info: dict[str, Any], fallback_mb: int | None) -> Memory:
    """The headroom from INFO memory; a maxmemory of 0 falls back to redis.max_memory_mb."""
    used, limit = int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))
    if limit:
        return Memory(used, limit, "maxmemory")
    if fallback_mb:
        return Memory(used, fallback_mb * 1024 * 1024, "redis.max_memory_mb")
    return Memory(used, 0)


def read_memory(client: redis.Redis, config: Config) -> Memory:
    """The server's memory headroom now."""
    return memory(client.info("memory"), config.redis.max_memory_mb)


def version(info: dict[str, Any]) -> tuple[int, ...]:
    """The Redis compatibility version (Valkey reports the Redis version it matches)."""
    return tuple(int(n) for n in re.findall(r"\d+", str(info.get("redis_version", "0")))[:3])


def server_name(info: dict[str, Any]) -> str:
    """The server's name and version, Valkey or Redis."""
    if info.get("valkey_version"):
        return f"Valkey {info['valkey_version']} (Redis {info.get('redis_version')})"
    return f"Redis {info.get('redis_version', '?')}"


def evicting(info: dict[str, Any]) -> str | None:
    """The eviction policy, unless it is noeviction."""
    policy = str(info.get("maxmemory_policy", "noeviction"))
    return None if policy == "noeviction" else policy


def eviction_warning(policy: str) -> str:
    """What an evicting maxmemory-policy means for queued leads."""
    return (f"Redis maxmemory-policy is {policy}: it may drop queued leads and dedup keys "
            "without a word")


APPENDONLY_OFF = ("Redis appendonly is off while server.ack = \"fsync\": the intake answers 503 "
                  "to every webhook until it is on (CONFIG SET appendonly yes; on Heroku, a "
                  "plan with persistence)")


@dataclass(frozen=True)
class Setting:
    """A Redis setting, changed at any time, that breaks a promise of leadgate's; alerted
    (kind redis_config) unless LEADGATE_ALLOW_EVICTION=1 lets an evicting policy through."""

    name: str                      # the alert's subject: "maxmemory-policy" or "appendonly"
    summary: str
    alerted: bool = True

    def line(self) -> str:
        """One line for `leadgate status` and the console."""
        note = "" if self.alerted else " (shown, not alerted: LEADGATE_ALLOW_EVICTION=1)"
        return f"warning: {self.summary}{note}"


def settings(info: dict[str, Any], ack: str, *, allow_eviction: bool) -> list[Setting]:
    """The settings in INFO that break a promise now: an evicting policy, or appendonly off
    under server.ack = "fsync"."""
    found = []
    if policy := evicting(info):
        found.append(Setting("maxmemory-policy", f"{eviction_warning(policy)}; set it to "
                             "noeviction", alerted=not allow_eviction))
    if ack == "fsync" and str(info.get("aof_enabled", "0")) != "1":
        found.append(Setting("appendonly", APPENDONLY_OFF))
    return found


def read_settings(info: dict[str, Any], config: Config) -> list[Setting]:
    """settings() as the config asks (server.ack, LEADGATE_ALLOW_EVICTION)."""
    return settings(info, config.server.ack, allow_eviction=config.allow_eviction)


def check(info: dict[str, Any], config: Config, *, allow_eviction: bool) -> list[str]:
    """Stop (ConfigError) on a server that would lose or cannot confirm leads; returns the
    warnings to print when LEADGATE_ALLOW_EVICTION=1 lets an evicting one through."""
    ack = config.server.ack
    if ack in defaults.ACK_MIN_VERSION and version(info) < defaults.ACK_MIN_VERSION[ack]:
        need = ".".join(map(str, defaults.ACK_MIN_VERSION[ack]))
        raise ConfigError(f"server.ack = \"{ack}\" needs Redis or Valkey {need} or later "
                          f"({'WAITAOF' if ack == 'fsync' else 'WAIT'}); the server is "
                          f"{server_name(info)}")
    if ack == "fsync" and str(info.get("aof_enabled", "0")) != "1":
        raise ConfigError("server.ack = \"fsync\" needs the server's appendonly on (it is "
                          "off): no lead could be acknowledged as on disk")
    policy = evicting(info)
    if policy and not allow_eviction:
        raise ConfigError(f"{eviction_warning(policy)}; {EVICTION_FIX}")
    return [f"warning: {eviction_warning(policy)} (running anyway: LEADGATE_ALLOW_EVICTION=1)"
            ] if policy else []


def check_server(client: redis.Redis, config: Config, *, allow_eviction: bool) -> list[str]:
    """check() against the server's INFO now."""
    return check(client.info(), config, allow_eviction=allow_eviction)
