"""The exact Redis key strings: operators' scripts depend on them."""

import hashlib
import tomllib
from importlib.resources import files
from pathlib import Path

import redis

from gateway.domain.records import SHORT_NAMES
from gateway.store import scripts
from gateway.store.keys import Keys
from gateway.store.store import event_id


def test_key_strings() -> None:
    k = Keys()
    assert k.event("evt_1") == "leadgate:event:evt_1"
    assert k.buffer("acme") == "leadgate:buffer:acme"
    assert k.batch("acme") == "leadgate:batch:acme"
    assert k.customer("acme") == "leadgate:customer:acme"
    assert k.parked("acme", "acme-meta") == "leadgate:parked:acme:acme-meta"
    assert (k.due, k.leases, k.owners, k.dead, k.metrics) == (
        "leadgate:due", "leadgate:leases", "leadgate:lease-owners", "leadgate:dead",
        "leadgate:metrics")
    assert (k.reconcile("m"), k.reconcile_lock("m"), k.source_health) == (
        "leadgate:reconcile:m", "leadgate:reconcile-lock:m", "leadgate:source-health")
    assert (k.alert_state, k.alert_marks, k.alerts_pending, k.alert("alrt_1.slack")) == (
        "leadgate:alerts:state", "leadgate:alerts:marks", "leadgate:alerts:pending",
        "leadgate:alert:alrt_1.slack")
    assert Keys("other").event("x") == "other:event:x"
    assert (k.events, k.contact("ab12"), k.attempts("evt_1")) == (
        "leadgate:events", "leadgate:contact:ab12", "leadgate:attempts:evt_1")
    assert (k.compact, k.ack_mark) == ("leadgate:compact", "leadgate:ack-mark")
    assert (k.tombstones, k.tombstone_bucket(20_500, "0f"), k.contacts(20_500, "ab")) == (
        "leadgate:tombstones", "leadgate:tombstones:20500:0f", "leadgate:contacts:20500:ab")
    assert k.contacts_more(20_500, "ab0123456789abcdef") == \
        "leadgate:contacts:20500:ab:0123456789ab"
    assert k.metrics_window(300, 1_777_636_800) == "leadgate:metrics:300s:1777636800"
    assert k.signin_failures("ab12") == "leadgate:signin-failures:ab12"
    assert k.console_session("ab12") == "leadgate:console-session:ab12"
    assert k.google_match("acme-google") == "leadgate:google-match:acme-google"


def test_event_ids_are_stable_and_scoped() -> None:
    a = event_id("acme", "generic", "123")
    assert a == event_id("acme", "generic", "123") and a.startswith("evt_") and len(a) == 36
    assert a != event_id("globex", "generic", "123") != event_id("acme", "typeform", "123")


def test_every_script_loads(redis_client: redis.Redis) -> None:
    """SCRIPT LOAD compiles each script as Redis will run it: a Lua syntax error fails here."""
    for name in scripts.USES:
        text = scripts.source(name)
        assert redis_client.script_load(text) == hashlib.sha1(text.encode()).hexdigest(), name


def test_every_lua_file_is_a_script_or_a_helper_and_is_package_data() -> None:
    lua = {p.stem for p in (files("gateway.store") / "lua").iterdir() if p.name.endswith(".lua")}
    assert lua == set(scripts.USES) | set(scripts.HELPERS)
    assert {h for uses in scripts.USES.values() for h in uses} == set(scripts.HELPERS)
    data = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())
    assert "lua/*.lua" in data["tool"]["setuptools"]["package-data"]["gateway.store"]


def test_scripts_use_the_records_names_and_register_once_per_client() -> None:
    """The scripts store records.SHORT_NAMES; a client registers a script once."""
    text = scripts.source("ingest")
    assert all(f"{name} = '{short}'" in text for name, short in SHORT_NAMES.items())
    assert scripts.register(redis.Redis(), "claim") is not scripts.register(redis.Redis(), "claim")
    client = redis.Redis()
    assert scripts.register(client, "claim") is scripts.register(client, "claim")
