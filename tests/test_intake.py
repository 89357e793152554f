"""Intake: authentication, parsing, answers, dedup, and nothing stored for a rejected request."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from typing import Any

import pytest
import redis

from gateway.config import Config
from gateway.domain.records import unpacked
from gateway.web.app import create_app
from tests.conftest import HMAC_SECRET, URL_TOKEN, build, free_port, stored_keys

FORM_URL = f"/hooks/acme-form/{URL_TOKEN}"
LEAD = {"name": "Ada Lovelace", "email": "Ada@Example.com", "phone": "(206) 555-0100",
        "budget": "500000"}


def signed(body: bytes, *, encoding: str = "hex", prefix: str = "") -> dict[str, str]:
    mac = hmac.new(HMAC_SECRET.encode(), body, hashlib.sha256).digest()
    value = mac.hex() if encoding == "hex" else base64.b64encode(mac).decode()
    return {"X-Signature": prefix + value, "Content-Type": "application/json"}


def stored(redis_client: redis.Redis) -> list[bytes]:
    return stored_keys(redis_client)


def test_json_post_is_stored_and_queued(client: Any, redis_client: redis.Redis) -> None:
    response = client.post(FORM_URL, json=LEAD)
    assert response.status_code == 202
    body = response.get_json()
    assert body["accepted"] == 1 and body["duplicates"] == 0
    (eid,) = body["events"]
    event = unpacked(redis_client.hgetall(f"leadgate:event:{eid}"))
    assert event["status"] == "pending" and event["route"] == "acme-form"
    assert json.loads(event["lead"]) == {
        "contact_name": "Ada Lovelace", "contact_email": "ada@example.com",
        "contact_phone": "+12065550100", "source_platform": "direct", "source_type": "form",
        "stage_slug": "new", "custom_fields": {"budget": "500000"}}
    assert redis_client.lrange("leadgate:buffer:acme", 0, -1) == [eid.encode()]
    assert redis_client.zscore("leadgate:due", "acme") is not None


def test_form_post_is_accepted(client: Any, redis_client: redis.Redis) -> None:
    response = client.post(FORM_URL, data={"first_name": "Grace", "last_name": "Hopper",
                                           "phone_number": "2065550111", "budget": "9"})
    assert response.status_code == 202
    eid = response.get_json()["events"][0]
    lead = json.loads(unpacked(redis_client.hgetall(f"leadgate:event:{eid}"))["lead"])
    assert lead["contact_name"] == "Grace Hopper" and lead["contact_phone"] == "+12065550111"


def test_same_webhook_three_times_is_one_event(client: Any, redis_client: redis.Redis) -> None:
    answers = [client.post(FORM_URL, json=LEAD) for _ in range(3)]
    assert [a.status_code for a in answers] == [202, 200, 200]
    assert answers[1].get_json() == {"accepted": 0, "duplicates": 1,
                                     "events": answers[0].get_json()["events"]}
    assert redis_client.llen("leadgate:buffer:acme") == 1


@pytest.mark.parametrize("url", [f"/hooks/acme-form/{'x' * 25}", "/hooks/acme-form",
                                 f"/hooks/acme-signed/{URL_TOKEN}"])
def test_bad_url_token_is_401_and_stores_nothing(client: Any, redis_client: redis.Redis,
                                                 url: str) -> None:
    response = client.post(url, json=LEAD, headers=signed(json.dumps(LEAD).encode()))
    assert response.status_code == 401
    assert response.get_json()["error"]["type"] == "authentication_error"
    assert stored(redis_client) == []


@pytest.mark.parametrize(("encoding", "prefix"), [("hex", ""), ("hex", "sha256="),
                                                  ("base64", "")])
def test_hmac_signed_post(client: Any, config_dict: dict[str, Any], redis_client: redis.Redis,
                          redis_server: Any, encoding: str, prefix: str) -> None:
    config_dict["routes"]["acme-signed"]["hmac_encoding"] = encoding
    app = create_app(build(config_dict, redis_server.url))
    body = json.dumps({"data": {"id": "sub-1", "contact": {"name": "Kim", "mail": "k@x.co"}}})
    response = app.test_client().post("/hooks/acme-signed", data=body,
                                      headers=signed(body.encode(), encoding=encoding,
                                                     prefix=prefix))
    assert response.status_code == 202, response.get_json()


@pytest.mark.parametrize("headers", [
    {"Content-Type": "application/json"},
    {"Content-Type": "application/json", "X-Signature": "00" * 32},
    {"Content-Type": "application/json", "X-Signature": "sha256=zz"},
    {"Content-Type": "application/json", "X-Signature": "\u00e9"},
])
def test_bad_signature_is_401_and_stores_nothing(client: Any, redis_client: redis.Redis,
                                                 headers: dict[str, str]) -> None:
    response = client.post("/hooks/acme-signed", data=b'{"data": {"id": "1"}}', headers=headers)
    assert response.status_code == 401
    assert stored(redis_client) == []


def test_signature_over_other_bytes_fails(client: Any, redis_client: redis.Redis) -> None:
    body = b'{"data": {"id": "1", "contact": {"name": "A"}}}'
    reformatted = json.dumps(json.loads(body), indent=1).encode()
    assert reformatted != body
    response = client.post("/hooks/acme-signed", data=reformatted, headers=signed(body))
    assert response.status_code == 401


@pytest.mark.parametrize(("data", "content_type", "status"), [
    (b"{not json", "application/json", 400),
    (b'{"name": "a", "name": "b"}', "application/json", 400),
    (b'{"name": "\xff"}', "application/json", 400),
    (b'[]', "application/json", 400),
    (b'"just a string"', "application/json", 400),
    (b'{"name": NaN}', "application/json", 400),
    (b"name=Ann", "text/plain", 415),
    (b'{"note": "no contact at all"}', "application/json", 422),
    (b"[" * 100_000 + b"]" * 100_000, "application/json", 400),
])
def test_bad_bodies_get_a_clear_4xx_and_store_nothing(client: Any, redis_client: redis.Redis,
                                                      data: bytes, content_type: str,
                                                      status: int) -> None:
    response = client.post(FORM_URL, data=data, headers={"Content-Type": content_type})
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == status
    assert stored(redis_client) == []


def test_missing_event_id_path_is_400(client: Any, redis_client: redis.Redis) -> None:
    body = b'{"data": {"contact": {"name": "A"}}}'
    response = client.post("/hooks/acme-signed", data=body, headers=signed(body))
    assert response.status_code == 400 and "data.id" in response.get_json()["error"]["message"]
    assert stored(redis_client) == []


def test_body_over_the_limit_is_413(config_dict: dict[str, Any], redis_server: Any,
                                    redis_client: redis.Redis) -> None:
    config_dict["server"]["max_body_kb"] = 1
    client = create_app(build(config_dict, redis_server.url)).test_client()
    response = client.post(FORM_URL, json={"name": "A", "pad": "x" * 2000})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == 413
    assert stored(redis_client) == []


def test_unknown_route_is_404(client: Any) -> None:
    response = client.post("/hooks/nope", json=LEAD)
    assert response.status_code == 404
    assert response.get_json()["error"]["type"] == "not_found_error"


def test_list_body_is_many_events(client: Any, redis_client: redis.Redis) -> None:
    response = client.post(FORM_URL, json=[{"email": "a@x.co"}, {"email": "b@x.co"}])
    assert response.status_code == 202 and response.get_json()["accepted"] == 2
    assert redis_client.llen("leadgate:buffer:acme") == 2


def test_redis_down_answers_503_never_2xx(config: Config, config_dict: dict[str, Any]) -> None:
    down = build(config_dict, f"redis://127.0.0.1:{free_port()}/0")
    client = create_app(down).test_client()
    response = client.post(FORM_URL, json=LEAD)
    assert response.status_code == 503
    assert response.get_json()["error"]["type"] == "api_error"
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_a_connection_redis_dropped_is_replaced_not_a_503(client: Any,
                                                           redis_client: redis.Redis) -> None:
    """Each web thread keeps its own Redis connection; one that Redis closed while it idled
    (a restart, a failover, a client timeout) is replaced on first use, never a 503."""
    assert client.post(FORM_URL, json=LEAD).status_code == 202
    assert redis_client.client_kill_filter(_type="normal", skipme=True) >= 1
    again = client.post(FORM_URL, json={**LEAD, "email": "grace@example.com"})
    assert again.status_code == 202 and again.get_json()["accepted"] == 1
    assert redis_client.llen("leadgate:buffer:acme") == 2


def test_a_finished_threads_connection_is_closed(app: Any, redis_client: redis.Redis) -> None:
    """A thread's connection goes with the thread (a server that starts a thread per request
    must not leave a socket per request open)."""
    def connections() -> int:
        return len(redis_client.client_list(_type="normal"))

    before = connections()
    threads = [threading.Thread(target=lambda i=i: app.test_client().post(
        FORM_URL, json={**LEAD, "email": f"t{i}@example.com"})) for i in range(5)]
    for thread in threads:
        thread.start()
        thread.join()
    assert redis_client.llen("leadgate:buffer:acme") == 5
    deadline = time.monotonic() + 5
    while connections() > before + 1 and time.monotonic() < deadline:   # + the metrics thread's
        time.sleep(0.05)
    assert connections() <= before + 1


def test_event_keys_are_scoped_per_customer(client: Any, redis_client: redis.Redis) -> None:
    a = client.post(FORM_URL, json=LEAD).get_json()["events"]
    b = client.post(f"/hooks/globex-form/{URL_TOKEN}", json=LEAD)
    assert b.status_code == 202 and b.get_json()["events"] != a
