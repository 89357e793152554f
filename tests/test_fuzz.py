"""Hostile and broken input: every adapter's parser and the intake endpoint, over thousands
of generated bodies, answer with a clear 4xx (never a 500) and store nothing they reject."""

from __future__ import annotations

import json
from typing import Any

import pytest
import redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers

from gateway.errors import LeadgateError
from gateway.sources import SOURCES, Inbound
from tests.conftest import URL_TOKEN, stored_keys
from tests.samples import NOW, SAMPLES, SETTINGS, encode

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: st.lists(children, max_size=6)
    | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=30)
NASTY = st.sampled_from([
    b"", b"{", b"[" * 5000 + b"]" * 5000, b'{"a": 1, "a": 2}', b"\xff\xfe\x00", b"NaN",
    b'{"x": NaN}', b"null", b"[]", b'"text"', b"1e999999", b"a=1&a=2&data.json=%7B",
    b"--b\r\nContent-Disposition: form-data; name=\"rawRequest\"\r\n\r\n{]\r\n--b--\r\n"])
BODIES = st.one_of(NASTY, st.binary(max_size=300), JSON.map(lambda v: json.dumps(v).encode()))
TYPES = st.sampled_from(["application/json", "application/x-www-form-urlencoded",
                         "multipart/form-data; boundary=b", "text/plain", "", "application/xml"])


def sample_like(source: str) -> st.SearchStrategy[Any]:
    """Near misses of a real delivery: its values replaced by generated ones, one at a time."""
    sample = SAMPLES[source]
    if not isinstance(sample, dict):
        return JSON
    return st.builds(lambda key, value: {**sample, key: value},
                     st.sampled_from(sorted(sample)), JSON)


def loaded_settings(source: str) -> dict[str, Any]:
    return SOURCES[source].settings_schema().load(SETTINGS[source])


@pytest.mark.parametrize("source", sorted(SAMPLES))
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_parsers_raise_only_clear_errors(source: str, data: st.DataObject) -> None:
    body = data.draw(st.one_of(BODIES, sample_like(source).map(
        lambda s: encode(source, s)[0])))
    mimetype = data.draw(TYPES)
    if source in ("unbounce", "jotform") and data.draw(st.booleans()):
        mimetype = encode(source, {})[1]
    inbound = Inbound("POST", Headers({"Content-Type": mimetype}), {}, body,
                      mimetype.split(";")[0], None, NOW)
    try:
        drafts = SOURCES[source].parse(inbound, loaded_settings(source))
    except LeadgateError:
        return                                   # BadRequest, Ignored, 415...: all fine
    assert all(isinstance(d.event_id, str) and d.event_id for d in drafts)


@pytest.fixture
def fuzz_client(config_dict: dict[str, Any], redis_server: Any,
                redis_client: redis.Redis) -> Any:
    from gateway.app import create_app
    from tests.conftest import build

    for source in ("unbounce", "jotform"):
        config_dict["routes"][f"acme-{source}"] = {"customer": "acme", "source": source,
                                                   "url_token": URL_TOKEN}
    config_dict["server"]["max_body_kb"] = 64
    return create_app(build(config_dict, redis_server.url)).test_client()


@settings(max_examples=600, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(route=st.sampled_from(["acme-form", "acme-unbounce", "acme-jotform"]), body=BODIES,
       content_type=TYPES, big=st.booleans())
def test_intake_never_500s_and_stores_nothing_it_rejects(fuzz_client: Any,
                                                         redis_client: redis.Redis, route: str,
                                                         body: bytes, content_type: str,
                                                         big: bool) -> None:
    if big:
        body += b" " * 70_000
    before = stored_keys(redis_client)
    response = fuzz_client.post(f"/hooks/{route}/{URL_TOKEN}", data=body,
                                headers={"Content-Type": content_type})
    assert response.status_code in (200, 202, 400, 413, 415, 422), response.get_data()[:300]
    assert response.get_json()          # every answer is JSON, errors in MEGA's shape
    if response.status_code >= 400:
        assert stored_keys(redis_client) == before
        assert response.get_json()["error"]["message"]
