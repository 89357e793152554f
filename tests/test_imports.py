"""`leadgate import` and `/v1/imports`: real CSV files, megasim over HTTP, a real Redis and the
burst worker. Dry runs create nothing and count as the real import does; re-runs send nothing."""

from __future__ import annotations

import csv
import io
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner

from gateway.cli import cli
from gateway.web.openapi import ImportReport
from tests.conftest import Sim, stored_keys, to_toml
from tests.test_delivery import tight_megasim  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[1]
ADMIN = {"Authorization": "Bearer test-admin-token-0123456789abcdef"}
COMPARED = ("rows", "queued", "created", "updated", "skipped", "failed", "duplicates_in_file",
            "already_imported", "warnings")

# A semicolon file with a BOM, quoted fields holding the delimiter and newlines, a repeated
# email (other name), a repeated row, invalid rows, and a row MEGA refuses (unknown stage).
MIXED = (
    "Name;Email;Phone;Budget;Notes;stage_slug\r\n"
    'Ada Lovelace;ada@example.com;(206) 555-0100;5000;"line one\nline two; still notes";new\r\n'
    "Grace Hopper;GRACE@example.com;;;;\r\n"
    "Grace H.;grace@example.com;;;;\r\n"
    "Alan Turing;not-an-email;+44 20 7946 0958;;;\r\n"
    ";not-an-email;;;;\r\n"
    ";;;;just a note;\r\n"
    "Linus;linus@example.com;;;;no-such-stage\r\n"
    'Ada Lovelace;ada@example.com;(206) 555-0100;5000;"line one\nline two; still notes";new\r\n'
    "Ken;ken@example.com;;;;;extra\r\n"
)
MIXED_BAD = {5, 6, 7, 9}        # no contact (bad email only), nothing, MEGA's refusal, extra field
MIXED_MAPS = ["--map", "Budget=custom_fields.budget", "--map", "Notes=custom_fields.notes"]


def write(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode())
    return path


@pytest.fixture
def cli_env(config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
            tmp_path: Path) -> dict[str, Any]:
    path = tmp_path / "leadgate.toml"
    path.write_text(to_toml(config_dict))
    return {"config": str(path), "env": {"REDIS_URL": redis_server.url}}


def leadgate(cli_env: dict[str, Any], *args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "--config", cli_env["config"]], env=cli_env["env"])
    return result


def counts_of(output: str) -> dict[str, int]:
    """The report's counts as the CLI prints them."""
    names = {"rows": r"rows (\d+)", "queued": r"sent to MEGA (\d+)", "created": r"created (\d+)",
             "updated": r"updated (\d+)", "skipped": r"skipped (\d+)", "failed": r"failed (\d+)",
             "duplicates_in_file": r"duplicates within the file (\d+)",
             "already_imported": r"already imported (\d+)", "warnings": r"with warnings (\d+)"}
    return {name: int(re.findall(pattern, output)[-1]) for name, pattern in names.items()}


def import_id(output: str) -> str:
    return re.search(r"import (imp_[0-9a-f]+)", output).group(1)  # type: ignore[union-attr]


def bulk_calls(sim: Sim) -> int:
    return sum(1 for r in sim.requests() if r["endpoint"] == "bulk")


def test_dry_run_creates_nothing_and_counts_as_the_import_then_a_rerun_sends_nothing(
        cli_env: dict[str, Any], client: Any, drain: Any, megasim: Sim,
        redis_client: redis.Redis, tmp_path: Path) -> None:
    path = write(tmp_path / "leads.csv", MIXED, bom=True)
    dry = leadgate(cli_env, "import", str(path), "--customer", "acme", "--dry-run", *MIXED_MAPS)
    assert dry.exit_code == 0, dry.output
    assert megasim.leads() == [] and stored_keys(redis_client) == []
    assert "row      1  would create" in dry.output
    assert "unknown custom fields: notes" in dry.output
    assert "row      7  would fail  stage_slug 'no-such-stage'" in dry.output
    preview = counts_of(dry.output)
    previews = bulk_calls(megasim)
    assert previews == 1
    assert preview == {"rows": 9, "queued": 4, "created": 3, "updated": 0, "skipped": 0,
                       "failed": 4, "duplicates_in_file": 2, "already_imported": 0,
                       "warnings": 1}

    real = leadgate(cli_env, "import", str(path), "--customer", "acme", "--no-wait", *MIXED_MAPS)
    assert real.exit_code == 0, real.output
    drain()
    report = client.get(f"/v1/imports/{import_id(real.output)}", headers=ADMIN).get_json()
    assert report["status"] == "done" and report["pending"] == 0
    assert {k: report["counts"][k] for k in COMPARED} == preview
    assert report["unknown_custom_fields"] == ["notes"]
    leads = {lead["contact_email"]: lead for lead in megasim.leads()}
    assert set(leads) == {"ada@example.com", "grace@example.com", None}
    assert leads["ada@example.com"]["custom_fields"] == {"budget": "5000"}
    assert leads["grace@example.com"]["contact_name"] == "Grace Hopper"    # the first row won
    calls = bulk_calls(megasim)
    assert calls == previews + 1 and not any(r["endpoint"] == "single"
                                             for r in megasim.requests())

    again = leadgate(cli_env, "import", str(path), "--customer", "acme", "--no-wait", *MIXED_MAPS)
    drain()
    assert bulk_calls(megasim) == calls                   # nothing sent to MEGA
    second = counts_of(again.output)
    assert second["queued"] == 0 and second["already_imported"] == 4
    assert len(megasim.leads()) == 3


def test_waiting_import_writes_exactly_the_bad_rows_with_reasons(
        cli_env: dict[str, Any], drain: Any, megasim: Sim, tmp_path: Path) -> None:
    path = write(tmp_path / "leads.csv", MIXED, bom=True)
    out = tmp_path / "failed.csv"
    proc = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "import", str(path), "--customer", "acme",
         "--failed-rows", str(out), "--config", cli_env["config"], *MIXED_MAPS],
        env={**os.environ, **cli_env["env"], "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        drain(timeout_s=30)      # the command waits for the worker, its progress bar on stderr
        while proc.poll() is None:
            drain(timeout_s=30)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, stderr
    assert "delivering" in stderr and ": done" in stdout
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert rows[0] == ["row", "reason", "Name", "Email", "Phone", "Budget", "Notes", "stage_slug"]
    assert [int(r[0]) for r in rows[1:]] == sorted(MIXED_BAD)
    reasons = {int(r[0]): r[1] for r in rows[1:]}
    assert "contact_email dropped: not a valid email address" in reasons[5]
    assert "at least one of contact_name" in reasons[6]
    assert "no-such-stage" in reasons[7]
    assert "more field" in reasons[9] and rows[-1][2:] == ["Ken", "ken@example.com", "", "",
                                                             "", "", "extra"]


FORMULAS = (
    "Name;Email;Phone;Budget;Notes;stage_slug\r\n"
    ';;;-5;"=HYPERLINK(""http://x.example"",""open"")";\r\n'
    ";;;+1;@SUM(A1);\r\n"
    ';;;;"\tTAB";\r\n'
    ';;;;"\rCR";\r\n'
    ";;;;plain, -not first;\r\n"
)


@pytest.mark.parametrize(("flags", "quote"), [([], "'"), (["--raw"], "")])
def test_failed_rows_cells_a_spreadsheet_would_run_are_quoted_unless_raw(
        cli_env: dict[str, Any], megasim: Sim, tmp_path: Path, flags: list[str],
        quote: str) -> None:
    path = write(tmp_path / "leads.csv", FORMULAS)
    out = tmp_path / "failed.csv"
    result = leadgate(cli_env, "import", str(path), "--customer", "acme", "--dry-run",
                      "--failed-rows", str(out), *flags)
    assert result.exit_code == 0, result.output
    with open(out, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert [r[5:7] for r in rows[1:]] == [
        [quote + "-5", quote + '=HYPERLINK("http://x.example","open")'],
        [quote + "+1", quote + "@SUM(A1)"], ["", quote + "\tTAB"], ["", quote + "\rCR"],
        ["", "plain, -not first"]]


def ten_thousand(path: Path) -> Path:
    """10,000 rows, tab-separated: 50 without a contact, 100 repeating an earlier phone."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, delimiter="\t")
        writer.writerow(["first_name", "last_name", "email", "mobile", "plan"])
        for i in range(10_000):
            if i % 200 == 199:
                writer.writerow(["", "", "", "", "basic"])
            elif i % 100 == 50:
                writer.writerow([f"Again{i}", "", "", f"+1 415 555 {i - 1:04d}", "pro"])
            else:
                writer.writerow([f"Lead{i}", "Test", f"lead{i}@example.com",
                                 f"+1 415 555 {i:04d}", "pro"])
    return path


def settled(client: Any, created: Any, timeout_s: float = 60.0) -> dict[str, Any]:
    """An upload's report once it is read (its background thread ended)."""
    assert created.status_code == 202, created.get_json()
    name = f"leadgate-{created.get_json()['import']}"
    for thread in threading.enumerate():
        if thread.name == name:
            thread.join(timeout_s)
    report: dict[str, Any] = client.get(created.headers["Location"], headers=ADMIN).get_json()
    assert report["status"] not in ("reading", "previewing"), report
    return report


def test_ten_thousand_rows_preview_and_import_agree(
        cli_env: dict[str, Any], client: Any, drain: Any, megasim: Sim,
        redis_client: redis.Redis, tmp_path: Path) -> None:
    path = ten_thousand(tmp_path / "big.tsv")
    dry = client.post("/v1/imports?customer=acme&dry_run=true&map=plan=custom_fields."
                      "plan_interest", headers=ADMIN, data=path.read_bytes(),
                      content_type="text/csv")
    assert ImportReport().validate(dry.get_json()) == {}
    preview = settled(client, dry)
    assert ImportReport().validate(preview) == {} and preview["status"] == "preview"
    assert preview["counts"]["failed"] == 50 and preview["counts"]["duplicates_in_file"] == 100
    assert preview["mega_calls"] == 20           # the report lists the first 100 rows only
    assert [r["row"] for r in preview["rows"]] == list(range(1, 101))
    assert megasim.leads() == []         # nothing stored but the dry run's report
    assert stored_keys(redis_client) == [f"leadgate:import:{preview['import']}".encode()]
    real = leadgate(cli_env, "import", str(path), "--customer", "acme", "--no-wait",
                    "--map", "plan=custom_fields.plan_interest")
    assert real.exit_code == 0, real.output
    drain(timeout_s=60)
    report = client.get(f"/v1/imports/{import_id(real.output)}", headers=ADMIN).get_json()
    assert {k: report["counts"][k] for k in COMPARED} == {
        k: preview["counts"][k] for k in COMPARED}
    assert report["counts"]["created"] == 9850 == len(megasim.leads())
    assert bulk_calls(megasim) == 40          # 20 previews, 20 deliveries


def test_import_rows_travel_apart_from_webhook_leads_and_always_in_bulk(
        cli_env: dict[str, Any], client: Any, drain: Any, megasim: Sim,
        redis_client: redis.Redis, tmp_path: Path) -> None:
    from tests.test_delivery import FORM_URL, record

    response = client.post(FORM_URL, json={"name": "Live", "email": "same@example.com"})
    live = response.get_json()["events"][0]
    path = write(tmp_path / "one.csv", "email,name\nsame@example.com,Imported\n")
    result = leadgate(cli_env, "import", str(path), "--customer", "acme", "--no-wait",
                      "--on-duplicate", "skip")
    assert result.exit_code == 0, result.output
    drain()
    imported = next(eid for eid in (k.decode().split(":")[-1] for k in
                                    redis_client.scan_iter("leadgate:event:*")) if eid != live)
    assert record(redis_client, live)["endpoint"] == "single"      # alone: a single create
    row = record(redis_client, imported)
    assert row["endpoint"] == "bulk" and row["outcome"] == "skipped"   # its own on_duplicate
    assert megasim.leads()[0]["contact_name"] == "Live"


@pytest.mark.parametrize(("name", "content", "message"), [
    ("latin1.csv", "email\nren\xe9@example.com\n".encode("latin-1"), "not UTF-8"),
    ("empty.csv", b"", "the file is empty"),
    ("twice.csv", b"email,email\na@example.com,b@example.com\n", "appears twice"),
])
def test_unreadable_files_fail_clearly_and_store_nothing(
        cli_env: dict[str, Any], megasim: Sim, redis_client: redis.Redis, tmp_path: Path,
        name: str, content: bytes, message: str) -> None:
    path = tmp_path / name
    path.write_bytes(b"email\n" + b"ok@example.com\n" * 2000 + content[6:]
                     if name == "latin1.csv" else content)
    result = leadgate(cli_env, "import", str(path), "--customer", "acme")
    assert result.exit_code == 1 and message in result.output, result.output
    assert stored_keys(redis_client) == [] and megasim.leads() == []


def test_options_are_checked_before_anything_is_stored(
        cli_env: dict[str, Any], redis_client: redis.Redis, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "email\na@example.com\n")
    for args, message in ((["--customer", "nobody"], "unknown customer"),
                          (["--customer", "acme", "--id-column", "ref"], "no column 'ref'"),
                          (["--customer", "acme", "--map", "x=nope"], "unknown MEGA field"),
                          (["--customer", "acme", "--route", "globex-form"], "no route")):
        result = leadgate(cli_env, "import", str(path), *args)
        assert result.exit_code != 0 and message in result.output, (args, result.output)
    assert stored_keys(redis_client) == []


def test_id_column_identifies_rows(cli_env: dict[str, Any], drain: Any, megasim: Sim,
                                   tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "ref,email\n1,a@example.com\n2,b@example.com\n,c@x.com\n")
    first = leadgate(cli_env, "import", str(path), "--customer", "acme", "--id-column", "ref",
                     "--no-wait")
    assert counts_of(first.output)["queued"] == 2 and "no value in the id column" in first.output
    drain()
    changed = write(tmp_path / "b.csv", "ref,email\n1,a@example.com\n2,new@example.com\n")
    again = leadgate(cli_env, "import", str(changed), "--customer", "acme", "--id-column",
                     "ref", "--no-wait")
    assert counts_of(again.output)["already_imported"] == 2      # same ids: nothing sent again
    assert len(megasim.leads()) == 2


def test_upload_api(client: Any, drain: Any, megasim: Sim, redis_client: redis.Redis) -> None:
    body = "name,email\nAda,ada@example.com\n,not-an-email\n"
    assert client.post("/v1/imports?customer=acme", data=body,
                       content_type="text/csv").status_code == 401
    missing = client.post("/v1/imports", data=body, content_type="text/csv", headers=ADMIN)
    assert missing.status_code == 400 and "customer" in missing.get_json()["error"]["message"]
    assert client.post("/v1/imports?customer=acme", json={}, headers=ADMIN).status_code == 415
    created = client.post("/v1/imports", headers=ADMIN, content_type="multipart/form-data",
                          data={"customer": "acme", "file": (io.BytesIO(body.encode()), "a.csv")})
    assert created.status_code == 202
    assert created.headers["Location"] == f"/v1/imports/{created.get_json()['import']}"
    report = settled(client, created)
    assert report["status"] == "delivering" and report["pending"] == 1
    drain()
    done = client.get(created.headers["Location"], headers=ADMIN).get_json()
    assert ImportReport().validate(done) == {} == ImportReport().validate(report)
    assert done["counts"]["created"] == 1 and done["status"] == "done"
    assert done["errors"] == [{"row": 2, "reason": "no usable lead: at least one of "
                               "contact_name, contact_phone, contact_email is required; "
                               "contact_email dropped: not a valid email address"}]
    assert client.get("/v1/imports/imp_nope", headers=ADMIN).status_code == 404
    assert not any(b"ada@example.com" in k for k in redis_client.scan_iter("*"))


def test_dry_run_keeps_within_megas_rate_limit(
        request: pytest.FixtureRequest, config_dict: dict[str, Any], redis_server: Any,
        tmp_path: Path) -> None:
    from gateway.imports.preview import Previewer
    from gateway.imports.rows import make_plan
    from gateway.imports.run import DryRun
    from gateway.mega.client import MegaClient
    from tests.conftest import build

    sim: Sim = request.getfixturevalue("tight_megasim")   # one bulk call per 2-s window
    config = build({**config_dict, "mega": {"base_url": sim.url, "timeout_s": 2}},
                   redis_server.url)
    path = write(tmp_path / "a.csv", "email\n" + "".join(f"r{i}@example.com\n"
                                                         for i in range(501)))
    sim.faults(script=["429"])                # the first call meets a 429 with Retry-After
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        time.sleep(seconds)

    mega = MegaClient(base_url=sim.url, timeout_s=2)
    plan = make_plan(config, "imp_test", customer="acme")
    try:
        report = DryRun(plan, Previewer(mega, plan.customer, "update", sleep=sleep)).run(path)
    finally:
        mega.close()
    assert report["counts"]["created"] == 501 and report["mega_calls"] == 3
    assert [r["status"] for r in sim.requests()] == ["429", "200", "200"]   # one 429 only
    assert len(slept) == 2 and all(0 < s <= 2.0 for s in slept)
    assert sim.leads() == []


@pytest.mark.parametrize(("kinds", "alike"), [
    ([{}, {}, {}], 3),
    ([{}, {"bulk_only": "1", "on_duplicate": "skip"}], 1),
    ([{"bulk_only": "1", "on_duplicate": "skip"}] * 2 + [{}], 2),
    ([{"bulk_only": "1", "on_duplicate": "skip"}, {"bulk_only": "1", "on_duplicate": "update"}],
     1),
])
def test_a_request_holds_only_leads_of_one_kind(kinds: list[dict[str, str]], alike: int) -> None:
    from gateway.domain.event import Event
    from gateway.domain.policy import alike_prefix

    events = [Event(f"evt_{i}", "acme", "web", "import", str(i), "pending", 0, extra=kind)
              for i, kind in enumerate(kinds)]
    assert alike_prefix(events) == alike


def test_two_imports_of_one_file_at_once_create_each_lead_once(
        config: Any, drain: Any, megasim: Sim, tmp_path: Path) -> None:
    import threading

    from gateway.imports import run
    from gateway.imports.record import Imports
    from gateway.imports.rows import make_plan
    from gateway.store.connection import connect
    from gateway.store.store import Store

    path = write(tmp_path / "a.csv", "email,phone\n" + "".join(
        f"p{i}@example.com,+1 206 555 {i:04d}\n" for i in range(3000)))
    ids = [run.new_import_id() for _ in range(2)]

    def one(import_id: str) -> None:
        imports = Imports(Store(connect(config.redis_url)), ttl_s=config.dedup_ttl_s)
        run.start(imports, make_plan(config, import_id, customer="acme"), path)

    threads = [threading.Thread(target=one, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    drain(timeout_s=60)
    imports = Imports(Store(connect(config.redis_url)), ttl_s=config.dedup_ttl_s)
    counts = [imports.report(i)["counts"] for i in ids]  # type: ignore[index]
    assert sum(c["queued"] for c in counts) == 3000          # each row queued by one of them
    assert all(c["queued"] + c["already_imported"] == 3000 for c in counts)
    assert sum(c["created"] for c in counts) == 3000 == len(megasim.leads())


def test_waiting_without_a_worker_says_so_once(config: Any, redis_client: redis.Redis,
                                               tmp_path: Path) -> None:
    from gateway.imports import run
    from gateway.imports.record import Imports
    from gateway.imports.rows import make_plan
    from gateway.store.connection import connect
    from gateway.store.store import Store

    imports = Imports(Store(connect(config.redis_url)), ttl_s=config.dedup_ttl_s)
    plan = make_plan(config, run.new_import_id(), customer="acme")
    run.start(imports, plan, write(tmp_path / "a.csv", "email\na@example.com\n"))
    now, told = [0.0], []

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] > 60:           # a worker delivers it at last: the event becomes terminal
            (eid,) = [m.decode() for m in redis_client.smembers(
                f"leadgate:import:{plan.import_id}:pending")]
            redis_client.hset(f"leadgate:event:{eid}", mapping={"status": "delivered",
                                                                 "outcome": "created"})

    run.wait(imports, plan.import_id, stalled=lambda: told.append(now[0]), sleep=sleep,
             clock=lambda: now[0])
    assert len(told) == 1 and 30 < told[0] <= 31
    assert imports.report(plan.import_id)["counts"]["created"] == 1  # type: ignore[index]


def test_import_key_strings() -> None:
    from gateway.store.keys import Keys

    k = Keys()
    assert (k.imports, k.import_("imp_1"), k.import_("imp_1", "pending")) == (
        "leadgate:imports", "leadgate:import:imp_1", "leadgate:import:imp_1:pending")


def test_route_option_applies_the_routes_lead_fields_and_map(
        cli_env: dict[str, Any], drain: Any, megasim: Sim, tmp_path: Path) -> None:
    path = write(tmp_path / "a.csv", "email,budget,source_type\na@example.com,9000,manual\n")
    result = leadgate(cli_env, "import", str(path), "--customer", "acme", "--route", "acme-form",
                      "--no-wait")
    assert result.exit_code == 0, result.output
    drain()
    (lead,) = megasim.leads()
    assert lead["source_platform"] == "direct" and lead["current_stage"]["slug"] == "new"
    assert lead["custom_fields"] == {"budget": "9000"} and lead["source_type"] == "manual"


THREE = "name,email\nAda,ada@example.com\nGrace,grace@example.com\nLinus,linus@example.com\n"


def test_rows_compacted_before_any_look_count_as_delivered_not_gone(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        megasim: Sim, drain_factory: Any, tmp_path: Path) -> None:
    """record_retention_hours = 0: the rows compact as soon as they are delivered, before the
    report is looked at; the tally reads their tombstones."""
    from gateway.web.app import create_app
    from tests.conftest import build
    from workers.monitors import compact_due

    config_dict["server"]["record_retention_hours"] = 0
    config = build(config_dict, redis_server.url)
    (tmp_path / "leadgate.toml").write_text(to_toml(config_dict))
    env = {"config": str(tmp_path / "leadgate.toml"), "env": {"REDIS_URL": redis_server.url}}
    real = leadgate(env, "import", str(write(tmp_path / "three.csv", THREE)), "--customer",
                    "acme", "--no-wait")
    assert real.exit_code == 0, real.output
    drain = drain_factory(config)
    drain()
    assert compact_due(drain.ctx) == 3
    assert not list(redis_client.scan_iter("leadgate:event:*"))
    report = create_app(config).test_client().get(
        f"/v1/imports/{import_id(real.output)}", headers=ADMIN).get_json()
    assert report["counts"]["created"] == 3 and report["counts"]["gone"] == 0
    assert report["status"] == "done" and report["pending"] == 0


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def test_an_import_whose_web_process_died_while_reading_becomes_failed(
        config: Any, redis_client: redis.Redis, megasim: Sim, drain: Any,
        tmp_path: Path) -> None:
    """A web process killed mid-upload leaves its report at `reading`, its heartbeat stopped:
    60 s on by the app's clock, the report says so; the same file again completes it."""
    from gateway.imports import run
    from gateway.imports.record import STOPPED, Imports
    from gateway.imports.rows import make_plan
    from gateway.web.app import create_app
    from gateway.web.context import app_context

    clock = Clock()
    app = create_app(config, clock=clock)
    client = app.test_client()
    imports = Imports(app_context(app).store, ttl_s=config.dedup_ttl_s)
    path = write(tmp_path / "three.csv", THREE)
    plan = make_plan(config, run.new_import_id(), customer="acme", route=None, maps={},
                     id_column=None, on_duplicate=None)
    total = run.begin(imports, plan, str(path))            # the reader: its record, ...
    with run.table(str(path)) as t:                         # ... one chunk, then it died
        imports.add(plan.import_id, plan.customer, next(run.chunks(plan, t.rows, clock))[:2],
                    route=plan.route)
    url = f"/v1/imports/{plan.import_id}"
    clock.now += 59
    assert client.get(url, headers=ADMIN).get_json()["status"] == "reading"
    clock.now += 2
    report = client.get(url, headers=ADMIN).get_json()
    assert (report["status"], report["error"]) == ("failed", STOPPED) and total == 3
    assert client.get(url, headers=ADMIN).get_json()["status"] == "failed"     # it stays so
    again = settled(client, client.post("/v1/imports?customer=acme", data=THREE,
                                        content_type="text/csv", headers=ADMIN))
    assert again["counts"]["already_imported"] == 2 and again["counts"]["queued"] == 1
    drain()
    assert sorted(lead["contact_name"] for lead in megasim.leads()) == ["Ada", "Grace", "Linus"]


def test_a_dry_run_whose_web_process_died_while_previewing_becomes_failed(
        config: Any, redis_client: redis.Redis) -> None:
    from gateway.imports.record import COUNTS, STOPPED, Imports
    from gateway.web.app import create_app
    from gateway.web.context import app_context

    clock = Clock()
    app = create_app(config, clock=clock)
    imports = Imports(app_context(app).store, ttl_s=config.dedup_ttl_s)
    imports.preview("imp_00000000000000aa", {"import": None, "dry_run": True,
                                             "status": "previewing", "customer": "acme",
                                             "pending": 0, "errors": [],
                                             "counts": dict.fromkeys(COUNTS, 0),
                                             "unknown_custom_fields": [], "rows": []})
    client, url = app.test_client(), "/v1/imports/imp_00000000000000aa"
    clock.now += 60
    assert client.get(url, headers=ADMIN).get_json()["status"] == "previewing"
    clock.now += 1.5
    report = client.get(url, headers=ADMIN).get_json()
    assert (report["status"], report["error"]) == ("failed", STOPPED)
    assert ImportReport().validate(report) == {}
    assert 0 < redis_client.ttl("leadgate:import:imp_00000000000000aa") <= 86_400


def test_a_live_reader_keeps_its_report_reading(config: Any, redis_client: redis.Redis,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from gateway import defaults
    from gateway.imports.record import Imports
    from gateway.web.app import create_app
    from gateway.web.context import app_context

    monkeypatch.setattr(defaults, "IMPORT_HEARTBEAT_S", 0.05)
    clock = Clock()
    app = create_app(config, clock=clock)
    imports = Imports(app_context(app).store, ttl_s=config.dedup_ttl_s)
    imports.create("imp_00000000000000bb", {"customer": "acme"})
    with imports.beating("imp_00000000000000bb"):
        clock.now += 120
        time.sleep(0.3)
        report = app.test_client().get("/v1/imports/imp_00000000000000bb", headers=ADMIN)
    assert report.get_json()["status"] == "reading"
