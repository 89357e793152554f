"""The OpenAPI document describes the API as it behaves: schemathesis fuzzes every operation
from it (intake and admin) against the real app and Redis, and checks each answer."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

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


schema = schemathesis.openapi.from_dict(build_spec())


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
