"""Standard Webhooks senders as they really sign: the official `svix` and `standardwebhooks`
libraries, under Svix's default `svix-*` header names and the spec's `webhook-*` ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import redis
import standardwebhooks
import svix

from tests.conftest import ACME_ID, Sim
from tests.samples import NOW, STANDARD, WHSEC, hook

ROTATED_OUT = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"     # a key the sender stopped using
WHEN = datetime.fromtimestamp(NOW, tz=UTC)
BODY = json.dumps(STANDARD)


def svix_headers(msg_id: str, body: str = BODY, *, secrets: tuple[str, ...] = (WHSEC,)
                 ) -> dict[str, str]:
    """What Svix sends by default: svix-id, svix-timestamp, svix-signature."""
    signature = " ".join(svix.Webhook(s).sign(msg_id, WHEN, body) for s in secrets)
    return {"svix-id": msg_id, "svix-timestamp": str(NOW), "svix-signature": signature,
            "Content-Type": "application/json"}


def spec_headers(msg_id: str, body: str = BODY) -> dict[str, str]:
    """What a sender on the standardwebhooks library sends: webhook-*."""
    signature = standardwebhooks.Webhook(WHSEC).sign(msg_id, WHEN, body)
    return {"webhook-id": msg_id, "webhook-timestamp": str(NOW), "webhook-signature": signature,
            "Content-Type": "application/json"}


def post(client: Any, headers: dict[str, str], body: str = BODY) -> Any:
    return client.post(hook("standard_webhooks"), data=body.encode(), headers=headers)


def test_both_libraries_sign_the_same_scheme() -> None:
    assert spec_headers("msg_check")["webhook-signature"] == \
        svix_headers("msg_check")["svix-signature"]


def test_a_svix_delivery_is_accepted_delivered_once_and_deduplicated(
        provider_app: tuple[Any, Any], megasim: Sim) -> None:
    client, drain = provider_app
    first = post(client, svix_headers("msg_svix_1"))
    assert first.status_code == 202, first.get_json()
    assert first.get_json()["accepted"] == 1
    drain()
    again = post(client, svix_headers("msg_svix_1"))
    assert again.status_code == 200 and again.get_json()["duplicates"] == 1
    drain()
    leads = megasim.leads(ACME_ID)
    assert [lead["contact_email"] for lead in leads] == [STANDARD["data"]["email"]]
    assert len(megasim.requests()) == 1                         # one MEGA call, ever


def test_a_rotation_keeps_working_under_svix_names(provider_app: tuple[Any, Any]) -> None:
    client, _ = provider_app
    response = post(client, svix_headers("msg_rot", secrets=(ROTATED_OUT, WHSEC)))
    assert response.status_code == 202, response.get_json()


def test_a_standardwebhooks_delivery_is_accepted(provider_app: tuple[Any, Any]) -> None:
    client, _ = provider_app
    assert post(client, spec_headers("msg_spec_1")).status_code == 202


@pytest.mark.parametrize("tamper", ["body", "id", "timestamp", "signature"])
def test_a_tampered_svix_delivery_is_refused(provider_app: tuple[Any, Any],
                                             redis_client: redis.Redis, tamper: str) -> None:
    client, _ = provider_app
    headers, body = svix_headers("msg_tampered"), BODY
    if tamper == "body":
        body = BODY.replace("Ana", "Eve")
    elif tamper == "id":
        headers["svix-id"] = "msg_other"
    elif tamper == "timestamp":
        headers["svix-timestamp"] = str(NOW + 1)
    else:
        headers["svix-signature"] = svix.Webhook(ROTATED_OUT).sign("msg_tampered", WHEN, BODY)
    response = post(client, headers, body)
    assert response.status_code == 401, response.get_json()
    assert not list(redis_client.scan_iter("leadgate:event:*"))


@pytest.mark.parametrize("mixed", [
    {"webhook-id": "msg_mix"},                                       # id of one set only
    {"webhook-timestamp": str(NOW), "webhook-id": "msg_mix"},
    {"webhook-signature": "v1,AAAA", "webhook-id": "msg_mix"}])
def test_a_mixed_set_of_headers_is_refused(provider_app: tuple[Any, Any], mixed: dict[str, str],
                                           redis_client: redis.Redis) -> None:
    client, _ = provider_app
    headers = {**svix_headers("msg_mix"), **mixed}
    response = post(client, headers)
    assert response.status_code == 401, response.get_json()
    assert not list(redis_client.scan_iter("leadgate:event:*"))
