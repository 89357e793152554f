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

from gateway.domain.sources import SOURCES, Inbound
from gateway.errors import LeadgateError
from tests.conftest import URL_TOKEN, stored_keys
from tests.samples import NOW, SAMPLES, SETTINGS, encode, hook, sign, signed

SURROGATES = st.sampled_from(["\ud800", "ana\udfff@example.com", "\udc00\ud800"])
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
    | SURROGATES,
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


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON document (the root included), as key/index paths."""
    children: Any = value.items() if isinstance(value, dict) else enumerate(
        value if isinstance(value, list) else [])
    return [prefix, *(p for key, child in children for p in paths(child, (*prefix, key)))]


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    """A copy of value with the node at path replaced (or, for a dict key, removed when new is
    DROP)."""
    if not path:
        return {} if new is DROP else new
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    if new is DROP and len(path) == 1:
        del copy[path[0]]
    else:
        copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


DROP = object()


@st.composite
def sample_like(draw: st.DrawFn, source: str) -> Any:
    """Near misses of a real delivery: one to three of its nodes, at any depth, replaced by
    generated JSON (a list where an object was, an object with `options`...) or removed."""
    value = SAMPLES[source]
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(paths(value)))
        value = replaced(value, path, draw(st.one_of(JSON, st.just(DROP))))
    return value


def loaded_settings(source: str) -> dict[str, Any]:
    return SOURCES[source].load_settings(SETTINGS[source])


@pytest.mark.parametrize("source", sorted(SAMPLES))
@settings(max_examples=150, deadline=None)
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
    from gateway.web.app import create_app
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


SIGNED_OK = (200, 202, 400, 413, 415, 422)
BODY_SECRETS = {"google_lead_forms": "google_key", "livechat": "secret_key"}


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
@pytest.mark.parametrize("source", sorted(SAMPLES))
def test_signed_oddly_shaped_deliveries_get_a_4xx_and_store_nothing(
        provider_app: tuple[Any, Any], redis_client: redis.Redis, source: str,
        data: st.DataObject) -> None:
    """Signed after generating, so every mutation of the real sample reaches the parser."""
    client, _ = provider_app
    sample = data.draw(sample_like(source))
    if source in BODY_SECRETS and isinstance(sample, dict):
        sample = {**sample, BODY_SECRETS[source]: SAMPLES[source][BODY_SECRETS[source]]}
    body, headers = signed(source, sample)
    before = stored_keys(redis_client)
    response = client.post(hook(source), data=body, headers=headers)
    assert response.status_code in SIGNED_OK, response.get_data()[:300]
    if response.status_code >= 400:
        assert stored_keys(redis_client) == before
        assert response.get_json()["error"]["message"]


def typeform_hidden_list() -> dict[str, Any]:
    return replaced(SAMPLES["typeform"], ("form_response", "hidden"), ["utm_source"])


def tally_value_object() -> dict[str, Any]:
    return replaced(SAMPLES["tally"], ("data", "fields", 3, "value"), {"id": "5f3c"})


@pytest.mark.parametrize(("source", "make", "field"), [
    ("typeform", typeform_hidden_list, "form_response.hidden"),
    ("tally", tally_value_object, "data.fields[].value"),
])
def test_the_reported_500s_are_400s_naming_the_field(
        provider_app: tuple[Any, Any], redis_client: redis.Redis, source: str, make: Any,
        field: str) -> None:
    client, _ = provider_app
    body, headers = signed(source, make())
    response = client.post(hook(source), data=body, headers=headers)
    assert response.status_code == 400
    assert field in response.get_json()["error"]["message"]
    assert "5f3c" not in response.get_json()["error"]["message"]
    assert stored_keys(redis_client) == []


def test_lone_surrogate_is_a_400_at_parse_time(client: Any, redis_client: redis.Redis) -> None:
    response = client.post(f"/hooks/acme-form/{URL_TOKEN}", data=b'{"name": "\\ud800"}',
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and "Unicode" in response.get_json()["error"]["message"]
    assert stored_keys(redis_client) == []
    paired = client.post(f"/hooks/acme-form/{URL_TOKEN}", data=b'{"name": "Ana \\ud83d\\ude00"}',
                         headers={"Content-Type": "application/json"})
    assert paired.status_code == 202


def test_any_parser_slip_is_a_400_without_the_value(provider_app: tuple[Any, Any],
                                                    redis_client: redis.Redis,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The intake's safety net, for a slip no fuzz has found yet."""
    def slip(field: dict[str, Any]) -> Any:
        raise TypeError(f"cannot use {field.get('value')!r}")

    monkeypatch.setattr("gateway.domain.sources.providers.tally._value", slip)
    body, headers = signed("tally")
    response = provider_app[0].post(hook("tally"), data=body, headers=headers)
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert "tally" in message and "ana@example.com" not in message and "Ana" not in message
    assert stored_keys(redis_client) == []


TIMESTAMP_HEADERS = {"standard_webhooks": "webhook-timestamp", "webflow": "x-webflow-timestamp"}
TIMESTAMP_HEADERS["hubspot"] = "X-HubSpot-Request-Timestamp"
ODD_STAMPS = ["9" * 400, "1" * 17, "+" + str(NOW), "1_700_000_000", "-1", "0x10", "1e9", "١٢٣"]


@pytest.mark.parametrize("stamp", ODD_STAMPS)
@pytest.mark.parametrize("source", sorted(TIMESTAMP_HEADERS))
def test_a_timestamp_that_is_not_a_plausible_number_is_a_401(
        provider_app: tuple[Any, Any], redis_client: redis.Redis, caplog: pytest.LogCaptureFixture,
        source: str, stamp: str) -> None:
    """Signed with the odd stamp itself, so only the stamp's parsing can refuse it."""
    body, headers = signed(source, SAMPLES[source])
    headers.update(sign(source, body, stamp=stamp))
    response = provider_app[0].post(hook(source), data=body, headers=headers)
    assert response.status_code == 401, response.get_data()[:300]
    assert f"{TIMESTAMP_HEADERS[source]} is not" in response.get_json()["error"]["message"]
    assert stored_keys(redis_client) == [] and "Traceback" not in caplog.text


HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=40)


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stamp=st.integers(min_value=10**16).map(str) | HEADER_TEXT)
@pytest.mark.parametrize("source", sorted(TIMESTAMP_HEADERS))
def test_any_timestamp_header_is_a_4xx_never_a_500(provider_app: tuple[Any, Any], source: str,
                                                   stamp: str) -> None:
    body, headers = signed(source, SAMPLES[source])
    headers[TIMESTAMP_HEADERS[source]] = stamp
    response = provider_app[0].post(hook(source), data=body, headers=headers)
    assert response.status_code == 401, response.get_data()[:300]


# -- Calls, texts and email: near misses of each kind of delivery, parsed after authentication
from urllib.parse import urlencode  # noqa: E402

from tests.samples import (  # noqa: E402
    CALLRAIL_CALL,
    CALLRAIL_FORM,
    CALLRAIL_TEXT,
    MAILGUN_EMAIL,
    TWILIO_CALL,
    TWILIO_SMS,
)

CALL_SAMPLES = {"callrail": [CALLRAIL_CALL, CALLRAIL_TEXT, CALLRAIL_FORM],
                "twilio": [TWILIO_SMS, TWILIO_CALL], "mailgun": [MAILGUN_EMAIL]}
CALL_SETTINGS = {"callrail": {"secret": "s" * 16, "min_duration_s": 5, "first_contact_only": True},
                 "twilio": {"auth_token": "t" * 32, "min_duration_s": 5},
                 "mailgun": {"signing_key": "k" * 32}}
FORM_VALUE = st.one_of(st.text(max_size=40), SURROGATES, st.sampled_from(
    ["", "<>", "whatsapp:", "completed", "ringing", "outbound-api", "-1", "1e9", "[[1]]",
     '[["Auto-Submitted", "auto-replied"]]', "{", "Ana <", "<@>"]),
    st.lists(st.text(max_size=10), min_size=2, max_size=3))


@st.composite
def call_delivery(draw: st.DrawFn, source: str) -> tuple[bytes, str]:
    """One of the source's real deliveries with one to three of its fields changed, dropped
    or repeated; JSON for CallRail, a form for Twilio and Mailgun."""
    value = draw(st.sampled_from(CALL_SAMPLES[source]))
    for _ in range(draw(st.integers(1, 3))):
        if source == "callrail":
            value = replaced(value, draw(st.sampled_from(paths(value))),
                             draw(st.one_of(JSON, st.just(DROP))))
        else:
            key = draw(st.sampled_from([*value, "message-headers", "CallbackSource"]))
            value = {**value, key: draw(FORM_VALUE)}
    if source == "callrail":
        return json.dumps(value).encode(), "application/json"
    return (urlencode(value, doseq=True, errors="surrogatepass").encode(),
            "application/x-www-form-urlencoded")


@pytest.mark.parametrize("source", sorted(CALL_SAMPLES))
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_call_text_and_email_parsers_raise_only_clear_errors(source: str,
                                                             data: st.DataObject) -> None:
    body, mimetype = data.draw(st.one_of(call_delivery(source), st.tuples(BODIES, TYPES)))
    inbound = Inbound("POST", Headers({"Content-Type": mimetype}), {}, body,
                      mimetype.split(";")[0], None, NOW, "http://localhost/hooks/x")
    adapter = SOURCES[source]
    try:
        drafts = adapter.parse(inbound, adapter.load_settings(CALL_SETTINGS[source]))
    except LeadgateError:
        return
    assert all(isinstance(d.event_id, str) and d.event_id for d in drafts)
