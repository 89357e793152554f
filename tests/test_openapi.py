"""The OpenAPI document describes the API as it behaves: schemathesis fuzzes every operation
from it (intake and admin) against the real app and Redis, and checks each answer."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate

from gateway.web.app import create_app
from gateway.web.context import app_context
from gateway.web.openapi import build_spec
from tests.conftest import base_config, build

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"


@pytest.fixture(scope="module")
def api_app(redis_server: Any, megasim_server: Any) -> Iterator[Any]:
    app = create_app(build(base_config(redis_server.url, megasim_server.url),
                           redis_server.url))
    yield app
    app_context(app).close()


# An upload's options name the config's customers and routes: fuzzing them finds only 400s.
schema = schemathesis.openapi.from_dict(build_spec()).exclude(operation_id="createImport")


@schema.parametrize()
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_every_operation_answers_as_documented(case: Any, api_app: Any) -> None:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"} if case.path.startswith("/v1") else {}
    case.operation.schema.app = api_app      # so schemathesis's own probes reach it too
    case.call_and_validate(app=api_app, headers=headers)


def test_the_served_document_is_the_one_fuzzed(api_app: Any) -> None:
    assert api_app.test_client().get("/openapi.json").get_json() == build_spec()


def test_the_document_lists_intake_and_admin(api_app: Any) -> None:
    paths = api_app.test_client().get("/openapi.json").get_json()["paths"]
    assert {"/hooks/{route}", "/hooks/{route}/{url_token}", "/v1/events/{event_id}",
            "/v1/customers", "/v1/dead-letters", "/v1/dead-letters/{event_id}/replay"} <= set(paths)


def test_the_document_validates_against_the_openapi_schema() -> None:
    validate(build_spec())                  # raises, naming the place, on an invalid document


def test_every_operation_has_its_own_operation_id() -> None:
    ids = [(path, method, op.get("operationId")) for path, ops in build_spec()["paths"].items()
           for method, op in ops.items() if method in ("get", "post", "put", "delete", "head")]
    assert [x for x in ids if not x[2]] == []
    assert len({x[2] for x in ids}) == len(ids)


def test_an_upload_made_from_the_document_is_imported(api_app: Any) -> None:
    post = build_spec()["paths"]["/v1/imports"]["post"]
    query = {p["name"]: p for p in post["parameters"]}
    assert query["customer"]["required"] and {"route", "map", "id_column", "on_duplicate",
                                              "dry_run"} <= set(query)
    assert post["requestBody"]["content"]["multipart/form-data"]["schema"]["required"] == ["file"]
    assert {"202", "400", "401", "413", "415"} <= set(post["responses"])
    answer = api_app.test_client().post(
        "/v1/imports", query_string={"customer": "acme", "on_duplicate": "skip"},
        data={"file": (io.BytesIO(b"name,email\nAna Rivera,ana@example.com\n"), "leads.csv")},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, content_type="multipart/form-data")
    assert answer.status_code == 202, answer.get_json()
    import_id = answer.get_json()["import"]
    assert answer.headers["Location"] == f"/v1/imports/{import_id}"
    for thread in threading.enumerate():           # the upload is read in the background
        if thread.name == f"leadgate-{import_id}":
            thread.join(timeout=30)
    unknown = api_app.test_client().post(
        "/v1/imports", query_string={"customer": "nosuch"}, data=b"name\nAna\n",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, content_type="text/csv")
    assert unknown.status_code == 400 and "nosuch" in unknown.get_json()["error"]["message"]
