"""megasim's tenants, keys and limits: a built-in demo tenant, or a TOML file."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gateway.mega.contract import WRITE_SCOPE

DEMO_CUSTOMER_ID = "5f0c6a3e-9d1b-4c2a-8e7f-0a1b2c3d4e5f"
DEMO_TOKEN = "mega_" + "d3e0" * 16                # MEGA's form: mega_ + 64 hex digits
DEMO_TEAM = (
    {"id": "0b8d2f7e-1c3a-4d5b-9e6f-7a8b9c0d1e2f", "name": "Dana Broker", "role_name": "Agent"},
    {"id": "1c9e3a8f-2d4b-4e6c-8f7a-8b9c0d1e2f3a", "name": "Lee Manager", "role_name": "Admin"},
)
DEMO_STAGES = (
    {"slug": "new", "name": "New", "color": "#3b82f6"},
    {"slug": "contacted", "name": "Contacted", "color": "#f59e0b"},
    {"slug": "qualified", "name": "Qualified", "color": "#10b981"},
    {"slug": "closed", "name": "Closed", "color": "#6b7280"},
)
DEMO_CUSTOM_FIELDS = ("budget", "timeline", "property_type", "utm_source", "utm_campaign",
                      "postal_code", "plan_interest", "lead_source", "case_type", "service_notes")
# what calls, texts and emails bring (the CallRail, Twilio and Mailgun demo routes map them)
DEMO_CUSTOM_FIELDS += ("gclid", "tracking_number", "duration_s", "answered", "recording_url",
                       "landing_page", "keywords", "message", "subject")


@dataclass(frozen=True)
class Limits:
    """Fixed-window rate limits, per customer; bulk is stricter, as MEGA documents."""

    window_s: int = 60
    single_per_window: int = 600
    bulk_per_window: int = 60


@dataclass(frozen=True)
class ApiKey:
    token: str
    customer_id: str
    scopes: tuple[str, ...] = (WRITE_SCOPE,)


@dataclass(frozen=True)
class Tenant:
    customer_id: str
    name: str
    team: tuple[dict[str, str], ...] = DEMO_TEAM
    stages: tuple[dict[str, str], ...] = DEMO_STAGES
    custom_fields: tuple[str, ...] = DEMO_CUSTOM_FIELDS
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class SimConfig:
    tenants: dict[str, Tenant]
    keys: dict[str, ApiKey]
    key_retention_hours: float = 24.0     # idempotency keys are forgotten after this long


def demo_config(limits: Limits | None = None) -> SimConfig:
    """The built-in tenant that `leadgate megasim` serves with no arguments."""
    tenant = Tenant(DEMO_CUSTOMER_ID, "demo", limits=limits or Limits())
    return SimConfig({tenant.customer_id: tenant},
                     {DEMO_TOKEN: ApiKey(DEMO_TOKEN, DEMO_CUSTOMER_ID)})


def config_from_dict(data: dict[str, Any]) -> SimConfig:
    """Build tenants from `[[customers]]` tables (see megasim.example.toml)."""
    default_limits = Limits(**data.get("limits", {}))
    tenants: dict[str, Tenant] = {}
    keys: dict[str, ApiKey] = {}
    for entry in data.get("customers", []):
        cid = entry["id"]
        limits = Limits(**{**default_limits.__dict__, **entry.get("limits", {})})
        tenants[cid] = Tenant(
            cid, entry.get("name", cid),
            team=tuple(entry.get("team", DEMO_TEAM)),
            stages=tuple(entry.get("stages", DEMO_STAGES)),
            custom_fields=tuple(entry.get("custom_fields", DEMO_CUSTOM_FIELDS)),
            limits=limits,
        )
        for key in entry.get("keys", []):
            keys[key["token"]] = ApiKey(key["token"], cid,
                                        tuple(key.get("scopes", [WRITE_SCOPE])))
    return SimConfig(tenants, keys, float(data.get("key_retention_hours", 24.0)))


def load_config(path: str | Path) -> SimConfig:
    """Read a megasim TOML file; ValueError when it is not UTF-8 TOML."""
    with open(path, "rb") as fh:
        try:
            raw = tomllib.load(fh)
        except UnicodeDecodeError:
            raise ValueError(f"{path}: not UTF-8 text (TOML must be UTF-8)") from None
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None
    return config_from_dict(raw)
