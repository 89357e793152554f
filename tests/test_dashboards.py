"""What ships for Prometheus and Grafana (docs/prometheus, docs/grafana) names only series that
/metrics really exports, with labels it really uses; promtool checks and unit-tests the rules."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from gateway.web.context import app_context
from tests.conftest import URL_TOKEN

DOCS = Path(__file__).resolve().parent.parent / "docs"
DASHBOARD = DOCS / "grafana" / "leadgate.json"
PROMETHEUS = DOCS / "prometheus"
ADMIN = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}
# Labels Prometheus adds to every series it scrapes, and the histogram's bucket label.
SCRAPE_LABELS = {"job", "instance", "le"}
SERIES = re.compile(r"\b(leadgate_[a-z_]+)")
MATCHER = re.compile(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)\s*\"")
GROUPING = re.compile(r"\b(?:by|without|on|ignoring)\s*\(([^)]*)\)")


@pytest.fixture
def config_dict(config_dict: dict[str, Any]) -> dict[str, Any]:
    """A known memory limit, so the limit's gauge is exported too."""
    return {**config_dict, "redis": {"max_memory_mb": 25}}


@pytest.fixture
def exported(client: Any, app: Any, drain: Any, redis_client: Any) -> dict[str, set[str]]:
    """Every series /metrics exports after a little of everything, with its label names."""
    for body in ({"id": "dash-1", "email": "dash.one@example.com"},
                 {"id": "dash-1", "email": "dash.one@example.com"}):        # then a duplicate
        assert client.post(f"/hooks/acme-form/{URL_TOKEN}", json=body).status_code in (200, 202)
    assert client.post("/hooks/acme-form/not-the-token", json={"id": "x"}).status_code == 401
    drain()
    drain.ctx.store.metrics.flush()         # the worker's counts (delivered), written now
    store = app_context(app).store
    # Series the posts above cannot reach here, counted as their own code counts them.
    store.metrics.inc("leadgate_reconcile_leads", route="acme-form", result="missed")
    store.metrics.inc("leadgate_leads_dead", customer="acme", reason="rejected")
    redis_client.hset(store.keys.source_health, "acme-form", json.dumps({"state": "healthy"}))
    text = client.get("/metrics", headers=ADMIN).get_data(as_text=True)
    found: dict[str, set[str]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, set()).update(sample.labels)
    return found


def expressions() -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every query the dashboard and the alert rules hold."""
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            yield f"panel {panel['title']!r}", target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            yield f"variable {variable['name']}", variable["query"]["query"]
    for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]:
        for rule in group["rules"]:
            yield f"rule {rule['alert']}", rule["expr"]


def test_every_query_names_exported_series_and_labels(exported: dict[str, set[str]]) -> None:
    checked = 0
    for where, expr in expressions():
        names = SERIES.findall(expr)
        for name in names:
            assert name in exported, f"{where}: {name} is not exported by /metrics"
            checked += 1
        labels = set().union(SCRAPE_LABELS, *(exported[name] for name in names))
        used = set(MATCHER.findall(expr))
        for group in GROUPING.findall(expr):
            used |= {label.strip() for label in group.split(",") if label.strip()}
        assert used <= labels, f"{where}: {sorted(used - labels)} not among {names}' labels"
    assert checked >= 20
    # not vacuous: a name or a label that /metrics lacks is not in what it exports
    assert "leadgate_webhooks_total" in exported
    assert "leadgate_webhook_total" not in exported
    assert "outcome" in exported["leadgate_webhooks_total"]
    assert "status" not in exported["leadgate_webhooks_total"]


def test_the_dashboard_imports_as_it_is() -> None:
    """The datasource is a variable: no uid of someone's Grafana is baked in."""
    dashboard = json.loads(DASHBOARD.read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert all(t["datasource"]["uid"] == "${datasource}" for t in panel["targets"])
        assert panel["title"] and panel["description"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for subject in ("outcome", "delivered", "dead", "latency", "pending", "mega", "reconcil",
                    "health", "redis"):
        assert subject in titles, subject


def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    if os.environ.get("LEADGATE_REQUIRE_PROMTOOL"):
        pytest.fail("promtool is required here (Debian's prometheus package)")
    pytest.skip("promtool is not installed (Debian's prometheus package)")


def run(*args: str, cwd: Path) -> str:
    done = subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_promtool_checks_the_rules() -> None:
    out = run("check", "rules", "alerts.yml", cwd=PROMETHEUS)
    assert "SUCCESS" in out


def test_promtool_unit_tests_every_rule_firing_and_not() -> None:
    run("test", "rules", "alerts_test.yml", cwd=PROMETHEUS)
    rules = {rule["alert"] for group in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
             ["groups"] for rule in group["rules"]}
    cases: dict[str, set[bool]] = {}
    for test in yaml.safe_load((PROMETHEUS / "alerts_test.yml").read_text())["tests"]:
        for case in test["alert_rule_test"]:
            cases.setdefault(case["alertname"], set()).add(bool(case["exp_alerts"]))
    assert {name: {True, False} for name in rules} == cases


def test_promtool_checks_the_scrape_config(tmp_path: Path) -> None:
    """The shipped job reads the admin token as a bearer credential from a file."""
    for name in ("scrape.yml", "alerts.yml"):
        shutil.copy(PROMETHEUS / name, tmp_path / name)
    (tmp_path / "leadgate-admin-token").write_text("test-admin-token\n")
    run("check", "config", "scrape.yml", cwd=tmp_path)
    job = yaml.safe_load((PROMETHEUS / "scrape.yml").read_text())["scrape_configs"][0]
    assert job["authorization"] == {"type": "Bearer",
                                    "credentials_file": "leadgate-admin-token"}
    assert job["metrics_path"] == "/metrics"
