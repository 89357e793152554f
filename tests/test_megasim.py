"""megasim's contract over real HTTP: auth, endpoints, dedup, idempotency, limits, faults."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from werkzeug.serving import make_server

from megasim.app import create_app
from megasim.config import DEMO_CUSTOMER_ID, DEMO_TOKEN
from megasim.config import config_from_dict as sim_config
from megasim.state import SimState
from tests.conftest import ACME_ID, ACME_TOKEN, GLOBEX_ID, OWNER_ID, READONLY_TOKEN, Sim

SINGLE = "/api/agents/crm/leads"
BULK = "/api/agents/crm/leads/bulk"
SEED_SINGLE = {"contact_name": "Sam Seller", "contact_phone": "(206) 555-0123",
               "contact_email": "sam@example.com", "source_platform": "referral",
               "source_type": "form", "stage_slug": "new", "custom_fields": {"budget": "500000"}}
SEED_BULK = {"on_duplicate": "update", "dry_run": False, "leads": [
    {"row_ref": "r1", "contact_email": "a@example.com", "lead_line": "buyer"},
    {"row_ref": "r2", "contact_phone": "+12065550125",
     "custom_fields": {"budget": "750000", "made_up": "x"}}]}


def auth(token: str = ACME_TOKEN, customer: str = ACME_ID, key: str | None = None
         ) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}", "x-customer-id": customer}
    if key:
        headers["Idempotency-Key"] = key
    return headers


@pytest.fixture
def http(megasim: Sim) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=megasim.url, timeout=5) as client:
        yield client


def serve(app: Any) -> tuple[str, Any]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def test_seed_examples_work_against_the_demo_tenant() -> None:
    url, server = serve(create_app())
    headers = auth(DEMO_TOKEN, DEMO_CUSTOMER_ID)
    with httpx.Client(base_url=url) as http:
        single = http.post(SINGLE, json=SEED_SINGLE, headers={**headers,
                                                              "Idempotency-Key": "8f2c1e10-a001"})
        existing = http.post(SINGLE, json={"contact_phone": "206.555.0125"}, headers=headers)
        bulk = http.post(BULK, json=SEED_BULK, headers={**headers,
                                                        "Idempotency-Key": "import-01"})
    server.shutdown()
    assert single.status_code == 201
    lead = single.json()["lead"]
    assert lead["contact_email"] == "sam@example.com"
    assert lead["customer_id"] == DEMO_CUSTOMER_ID
    assert lead["current_stage"]["slug"] == "new"
    assert lead["custom_fields"] == {"budget": "500000"}
    assert set(lead) >= {"id", "status", "created_at", "updated_at", "owner", "score"}
    assert bulk.status_code == 200
    body = bulk.json()
    assert body["summary"] == {"total": 2, "created": 1, "updated": 1, "skipped": 0, "failed": 0}
    r1, r2 = body["results"]
    assert (r1["row_ref"], r1["status"], r1["matched_by"]) == ("r1", "created", None)
    assert (r2["status"], r2["matched_by"]) == ("updated", "phone")
    assert r2["lead_id"] == existing.json()["lead"]["id"]
    assert r2["ignored_custom_fields"] == ["made_up"]
    assert body["unknown_custom_fields"] == ["made_up"]


@pytest.mark.parametrize(("headers", "status", "error_type"), [
    ({}, 401, "authentication_error"),
    ({"Authorization": "Bearer mega_wrong", "x-customer-id": ACME_ID}, 401,
     "authentication_error"),
    ({"Authorization": f"Bearer {ACME_TOKEN}"}, 401, "authentication_error"),
    ({"Authorization": f"Bearer {ACME_TOKEN}", "x-customer-id": GLOBEX_ID}, 403,
     "authorization_error"),
    ({"Authorization": f"Bearer {READONLY_TOKEN}", "x-customer-id": ACME_ID}, 403,
     "authorization_error"),
])
def test_auth_errors_use_megas_shape(http: httpx.Client, megasim: Sim,
                                     headers: dict[str, str], status: int,
                                     error_type: str) -> None:
    for path, body in ((SINGLE, SEED_SINGLE), (BULK, SEED_BULK)):
        response = http.post(path, json=body, headers=headers)
        assert response.status_code == status
        error = response.json()["error"]
        assert error["type"] == error_type and error["code"] == status and error["message"]
    assert megasim.leads() == []


@pytest.mark.parametrize(("path", "body", "fragment"), [
    (BULK, {"leads": []}, "1 to 500"),
    (BULK, {"leads": [{"contact_name": f"n{i}"} for i in range(501)]}, "1 to 500"),
    (BULK, {"leads": [{"contact_email": "not-an-email"}]}, "contact_email"),
    (BULK, {"leads": [{"contact_name": "x", "source_platform": "myspace"}]}, "source_platform"),
    (BULK, {"leads": [{"contact_name": "x", "lead_line": "renter"}]}, "lead_line"),
    (BULK, {"leads": [{"contact_name": "x", "owner_id": "not-a-uuid"}]}, "owner_id"),
    (BULK, {"leads": [{"contact_name": "x", "custom_fields": {"a": {"b": 1}}}]}, "scalars"),
    (BULK, {"leads": [{"contact_name": "x"}], "on_duplicate": "merge"}, "on_duplicate"),
    (SINGLE, {"contact_name": "x", "source_type": "fax"}, "source_type"),
    (SINGLE, {"contact_name": "x", "row_ref": "r1"}, "row_ref"),
    (SINGLE, {"source_platform": "direct"}, "at least one"),
    (SINGLE, {"contact_name": "x", "stage_slug": "nowhere"}, "pipeline"),
])
def test_invalid_requests_get_400(http: httpx.Client, megasim: Sim, path: str,
                                  body: dict[str, Any], fragment: str) -> None:
    response = http.post(path, json=body, headers=auth())
    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert fragment in response.json()["error"]["message"]
    assert megasim.leads() == []


def test_bulk_row_rules_fail_rows_without_aborting_the_batch(http: httpx.Client,
                                                             megasim: Sim) -> None:
    rows = [{"row_ref": "ok", "contact_name": "Kim", "owner_id": OWNER_ID},
            {"row_ref": "owner", "contact_name": "Lu",
             "owner_id": "99999999-9999-4999-8999-999999999999"},
            {"row_ref": "stage", "contact_name": "Mo", "stage_slug": "nowhere"},
            {"row_ref": "empty", "source_type": "form"}]
    body = http.post(BULK, json={"leads": rows}, headers=auth()).json()
    by_ref = {r["row_ref"]: r for r in body["results"]}
    assert by_ref["ok"]["status"] == "created"
    assert [by_ref[r]["status"] for r in ("owner", "stage", "empty")] == ["failed"] * 3
    assert "team" in by_ref["owner"]["errors"][0]
    assert "pipeline" in by_ref["stage"]["errors"][0]
    assert "at least one" in by_ref["empty"]["errors"][0]
    assert body["summary"]["failed"] == 3 and body["summary"]["created"] == 1
    assert [lead["owner"]["id"] for lead in megasim.leads()] == [OWNER_ID]


def test_dedup_on_email_case_and_phone_last_ten(http: httpx.Client, megasim: Sim) -> None:
    first = http.post(SINGLE, json={"contact_name": "Sam", "contact_phone": "(206) 555-0123"},
                      headers=auth()).json()["lead"]
    rows = [{"row_ref": "p", "contact_phone": "+1 206-555-0123", "contact_email": "Sam@Ex.com"},
            {"row_ref": "e", "contact_email": "sam@ex.COM", "contact_name": "Samuel"}]
    results = http.post(BULK, json={"leads": rows}, headers=auth()).json()["results"]
    assert [(r["status"], r["matched_by"], r["lead_id"]) for r in results] == [
        ("updated", "phone", first["id"]), ("updated", "email", first["id"])]
    (lead,) = megasim.leads(ACME_ID)
    assert lead["contact_name"] == "Samuel" and lead["contact_email"] == "sam@ex.COM"


def test_on_duplicate_skip_leaves_the_lead_untouched(http: httpx.Client, megasim: Sim) -> None:
    http.post(SINGLE, json={"contact_email": "a@b.co", "contact_name": "Old"}, headers=auth())
    body = http.post(BULK, json={"on_duplicate": "skip", "leads": [
        {"contact_email": "A@b.co", "contact_name": "New"}]}, headers=auth()).json()
    assert body["results"][0]["status"] == "skipped"
    assert megasim.leads()[0]["contact_name"] == "Old"


def test_customers_are_isolated(http: httpx.Client, megasim: Sim) -> None:
    http.post(SINGLE, json={"contact_email": "a@b.co"}, headers=auth())
    response = http.post(SINGLE, json={"contact_email": "a@b.co"},
                         headers=auth("mega_" + "b" * 64, GLOBEX_ID))
    assert response.status_code == 201
    assert len(megasim.leads(ACME_ID)) == len(megasim.leads(GLOBEX_ID)) == 1


def test_idempotent_replay_returns_the_original_answer(http: httpx.Client,
                                                       megasim: Sim) -> None:
    first = http.post(SINGLE, json={"contact_name": "Ann"}, headers=auth(key="k-1"))
    again = http.post(SINGLE, json={"contact_name": "Ann"}, headers=auth(key="k-1"))
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json() == again.json()
    assert len(megasim.leads()) == 1


def test_key_reused_with_another_body_is_409(http: httpx.Client, megasim: Sim) -> None:
    http.post(SINGLE, json={"contact_name": "Ann"}, headers=auth(key="k-2"))
    response = http.post(SINGLE, json={"contact_name": "Bob"}, headers=auth(key="k-2"))
    assert response.status_code == 409
    assert response.json()["error"]["code"] == 409
    assert len(megasim.leads()) == 1


def test_keys_are_scoped_per_customer_and_endpoint(http: httpx.Client, megasim: Sim) -> None:
    assert http.post(SINGLE, json={"contact_name": "A"}, headers=auth(key="same")
                     ).status_code == 201
    assert http.post(BULK, json={"leads": [{"contact_name": "B"}]}, headers=auth(key="same")
                     ).status_code == 200
    assert http.post(SINGLE, json={"contact_name": "C"},
                     headers=auth("mega_" + "b" * 64, GLOBEX_ID, key="same")).status_code == 201
    assert len(megasim.leads()) == 3


def test_dry_run_writes_nothing_and_is_not_cached(http: httpx.Client, megasim: Sim) -> None:
    body = {"dry_run": True, "leads": [{"row_ref": "x", "contact_name": "Dee"}]}
    preview = http.post(BULK, json=body, headers=auth(key="dry"))
    assert preview.json()["dry_run"] is True
    assert preview.json()["results"][0]["status"] == "created"
    assert megasim.leads() == []
    real = http.post(BULK, json={**body, "dry_run": False}, headers=auth(key="dry"))
    assert real.status_code == 200 and real.json()["dry_run"] is False
    assert len(megasim.leads()) == 1


def test_rate_limits_send_headers_and_429_with_retry_after() -> None:
    tenants = {"limits": {"window_s": 60, "single_per_window": 3, "bulk_per_window": 1},
               "customers": [{"id": ACME_ID, "keys": [{"token": ACME_TOKEN}]}]}
    url, server = serve(create_app(sim_config(tenants)))
    with httpx.Client(base_url=url) as http:
        singles = [http.post(SINGLE, json={"contact_name": f"n{i}"}, headers=auth())
                   for i in range(4)]
        bulks = [http.post(BULK, json={"leads": [{"contact_name": "b"}]}, headers=auth())
                 for _ in range(2)]
    server.shutdown()
    assert [r.status_code for r in singles] == [201, 201, 201, 429]
    assert [r.headers["RateLimit-Remaining"] for r in singles[:3]] == ["2", "1", "0"]
    assert all(r.headers["RateLimit-Limit"] == "3" for r in singles)
    assert 0 < int(singles[3].headers["Retry-After"]) <= 60
    assert singles[3].json()["error"]["type"] == "rate_limit_error"
    assert [r.status_code for r in bulks] == [200, 429]   # bulk is stricter, counted apart
    assert bulks[1].headers["RateLimit-Limit"] == "1"


def test_window_refills_after_reset() -> None:
    tenants = {"limits": {"window_s": 1, "single_per_window": 1},
               "customers": [{"id": ACME_ID, "keys": [{"token": ACME_TOKEN}]}]}
    now = [100.0]
    app = create_app(sim_config(tenants))
    app.extensions["megasim"]._clock = lambda: now[0]
    client = app.test_client()
    assert client.post(SINGLE, json={"contact_name": "a"}, headers=auth()).status_code == 201
    assert client.post(SINGLE, json={"contact_name": "b"}, headers=auth()).status_code == 429
    now[0] += 1.0
    assert client.post(SINGLE, json={"contact_name": "c"}, headers=auth()).status_code == 201


def test_error_fault_writes_nothing(http: httpx.Client, megasim: Sim) -> None:
    megasim.faults(script=["error"])
    response = http.post(SINGLE, json={"contact_name": "E"}, headers=auth(key="f1"))
    assert response.status_code == 500 and response.json()["error"]["type"] == "api_error"
    assert megasim.leads() == []
    assert http.post(SINGLE, json={"contact_name": "E"}, headers=auth(key="f1")
                     ).status_code == 201


def test_commit_then_fail_writes_and_the_retry_replays(http: httpx.Client,
                                                       megasim: Sim) -> None:
    megasim.faults(script=["commit_then_fail"])
    failed = http.post(SINGLE, json={"contact_name": "C"}, headers=auth(key="c1"))
    assert failed.status_code == 503
    assert len(megasim.leads()) == 1
    retry = http.post(SINGLE, json={"contact_name": "C"}, headers=auth(key="c1"))
    assert retry.status_code == 201 and retry.json()["lead"]["id"] == megasim.leads()[0]["id"]
    assert len(megasim.leads()) == 1


@pytest.mark.parametrize(("fault", "written"), [("drop", 0), ("drop_after_commit", 1)])
def test_dropped_connections(http: httpx.Client, megasim: Sim, fault: str,
                             written: int) -> None:
    megasim.faults(script=[fault])
    with pytest.raises(httpx.TransportError):
        http.post(SINGLE, json={"contact_name": "D"}, headers=auth())
    assert len(megasim.leads()) == written


def test_slow_fault_times_the_client_out_after_commit(megasim: Sim) -> None:
    megasim.faults(script=["slow"], slow_ms=800)
    with httpx.Client(base_url=megasim.url, timeout=0.2) as http, \
            pytest.raises(httpx.ReadTimeout):
        http.post(SINGLE, json={"contact_name": "S"}, headers=auth())
    assert len(megasim.leads()) == 1


@pytest.mark.parametrize("status", [400, 401, 403, 429, 503])
def test_forced_statuses(http: httpx.Client, megasim: Sim, status: int) -> None:
    megasim.faults(script=[str(status)])
    response = http.post(BULK, json=SEED_BULK, headers=auth())
    assert response.status_code == status
    assert response.json()["error"]["code"] == status
    if status == 429:
        assert response.headers["Retry-After"]
    assert megasim.leads() == []


def test_random_rates_and_reject_containing(http: httpx.Client, megasim: Sim) -> None:
    megasim.faults(error_rate=1.0)
    assert http.post(SINGLE, json={"contact_name": "R"}, headers=auth()).status_code == 500
    megasim.faults(error_rate=0.0, reject_containing="poison")
    assert http.post(SINGLE, json={"contact_name": "poison"}, headers=auth()).status_code == 400
    assert http.post(SINGLE, json={"contact_name": "fine"}, headers=auth()).status_code == 201


def test_fault_settings_are_validated(http: httpx.Client, megasim: Sim) -> None:
    assert http.put("/_megasim/faults", json={"error_rate": 2}).status_code == 400
    assert http.put("/_megasim/faults", json={"script": ["explode"]}).status_code == 400
    assert http.put("/_megasim/faults", json={"nonsense": 1}).status_code == 400
    assert http.get("/_megasim/faults").json()["error_rate"] == 0.0


def test_latency_is_applied(http: httpx.Client, megasim: Sim) -> None:
    megasim.faults(latency_ms=300)
    response = http.post(SINGLE, json={"contact_name": "L"}, headers=auth())
    assert response.elapsed.total_seconds() >= 0.3


def test_inspection_counts_requests_and_reset_clears(http: httpx.Client, megasim: Sim) -> None:
    http.post(SINGLE, json={"contact_name": "I"}, headers=auth())
    http.post(SINGLE, json={"contact_name": "J"}, headers={})
    stats = http.get("/_megasim/stats").json()
    assert stats["requests"]["single"] == {"201": 1, "401": 1}
    assert stats["leads"][ACME_ID] == 1
    megasim.reset()
    assert http.get("/_megasim/stats").json()["requests"] == {}
    assert megasim.leads() == []


def test_keys_can_be_revoked_and_restored(http: httpx.Client, megasim: Sim) -> None:
    assert http.delete(f"/_megasim/keys/{ACME_TOKEN}").json()["revoked"] is True
    assert http.post(SINGLE, json={"contact_name": "K"}, headers=auth()).status_code == 401
    http.post("/_megasim/keys", json={"token": ACME_TOKEN, "customer_id": ACME_ID})
    assert http.post(SINGLE, json={"contact_name": "K"}, headers=auth()).status_code == 201


def test_thread_safe_under_concurrency(http: httpx.Client, megasim: Sim) -> None:
    def post(i: int) -> int:
        with httpx.Client(base_url=megasim.url) as c:
            distinct = c.post(SINGLE, json={"contact_email": f"u{i}@x.co"}, headers=auth())
            same = c.post(SINGLE, json={"contact_name": "Same"}, headers=auth(key="shared"))
            return distinct.status_code + same.status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(post, range(48)))
    assert statuses == [402] * 48
    assert len(megasim.leads()) == 49


def test_a_key_whose_request_is_in_progress_gets_409_then_the_stored_answer(
        megasim: Sim, http: httpx.Client) -> None:
    megasim.faults(script=["trickle"], trickle_ms=1500)
    headers = auth(key="k-busy")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(http.post, SINGLE, json=SEED_SINGLE, headers=headers)
        time.sleep(0.4)
        busy = http.post(SINGLE, json=SEED_SINGLE, headers=headers)
        assert first.result().status_code == 201
    assert busy.status_code == 409 and "in progress" in busy.json()["error"]["message"]
    again = http.post(SINGLE, json=SEED_SINGLE, headers=headers)
    assert again.status_code == 201 and again.json() == first.result().json()
    assert len(megasim.leads(ACME_ID)) == 1


def test_keys_are_forgotten_after_key_retention_hours() -> None:
    now = [1000.0]
    config = sim_config({"key_retention_hours": 1, "customers": [
        {"id": ACME_ID, "keys": [{"token": ACME_TOKEN}]}]})
    state = SimState(config, clock=lambda: now[0])
    scope = (ACME_ID, "single", "k")
    state.remember(scope, "fp", 201, {"lead": {}})
    now[0] += 3599
    assert state.cached(scope) == ("fp", 201, {"lead": {}})
    now[0] += 2
    assert state.cached(scope) is None


def test_html_after_commit_and_the_demo_token_has_megas_form(megasim: Sim,
                                                              http: httpx.Client) -> None:
    assert re.fullmatch(r"mega_[0-9a-f]{64}", DEMO_TOKEN)
    megasim.faults(script=["html_after_commit"])
    html = http.post(SINGLE, json=SEED_SINGLE, headers=auth(key="k-html"))
    assert html.status_code == 201 and html.headers["content-type"].startswith("text/html")
    again = http.post(SINGLE, json=SEED_SINGLE, headers=auth(key="k-html"))
    assert again.status_code == 201 and len(megasim.leads(ACME_ID)) == 1
