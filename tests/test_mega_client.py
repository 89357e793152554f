"""The MEGA client: every httpx failure and every status maps to the right DeliveryError."""

from __future__ import annotations

import httpx
import pytest

from gateway.config import Customer
from gateway.errors import (
    MegaBadRequest,
    MegaConflict,
    MegaCredentialsError,
    MegaRateLimited,
    MegaUnavailable,
    PermanentDeliveryError,
    RetryableDeliveryError,
)
from gateway.mega.client import MegaClient
from tests.conftest import ACME_ID, ACME_TOKEN, Sim

CUSTOMER = Customer("acme", ACME_ID, ACME_TOKEN)


def client_raising(exc: Exception) -> MegaClient:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return MegaClient(base_url="http://mega.test", timeout_s=1,
                      transport=httpx.MockTransport(handler))


@pytest.mark.parametrize("exc", [
    httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.ReadTimeout("slow"),
    httpx.WriteTimeout("slow"), httpx.PoolTimeout("full"), httpx.ReadError("reset"),
    httpx.WriteError("reset"), httpx.RemoteProtocolError("closed"),
    httpx.LocalProtocolError("bad"), httpx.ProxyError("proxy"), httpx.UnsupportedProtocol("x"),
    httpx.DecodingError("bad gzip"), httpx.TooManyRedirects("loop"),
])
def test_every_transport_error_is_retryable(exc: Exception) -> None:
    with pytest.raises(MegaUnavailable):
        client_raising(exc).send(CUSTOMER, "bulk", b"{}", "k")


@pytest.mark.parametrize(("status", "error"), [
    (500, MegaUnavailable), (503, MegaUnavailable), (429, MegaRateLimited),
    (401, MegaCredentialsError), (403, MegaCredentialsError), (400, MegaBadRequest),
])
def test_statuses_map_to_what_the_worker_must_do(megasim: Sim, status: int,
                                                 error: type[Exception]) -> None:
    megasim.faults(script=[str(status)])
    client = MegaClient(base_url=megasim.url, timeout_s=2)
    with pytest.raises(error) as info:
        client.send(CUSTOMER, "bulk", b'{"leads": [{"contact_name": "x"}]}', "k1")
    assert info.value.status == status
    client.close()


@pytest.mark.parametrize(("status", "error"), [(502, MegaUnavailable), (404, MegaCredentialsError),
                                               (422, MegaBadRequest), (409, MegaConflict)])
def test_other_statuses(status: int, error: type[Exception]) -> None:
    client = MegaClient(base_url="http://mega.test", timeout_s=1, transport=httpx.MockTransport(
        lambda request: httpx.Response(status, json={"error": {"message": "m"}})))
    with pytest.raises(error):
        client.send(CUSTOMER, "single", b"{}", "k")


def test_the_tree_splits_retryable_from_permanent() -> None:
    assert issubclass(MegaUnavailable, RetryableDeliveryError)
    assert issubclass(MegaRateLimited, RetryableDeliveryError)
    for cls in (MegaCredentialsError, MegaBadRequest, MegaConflict):
        assert issubclass(cls, PermanentDeliveryError)


def test_429_carries_the_wait_and_requests_carry_the_seed_headers(megasim: Sim) -> None:
    megasim.faults(script=["429"])
    client = MegaClient(base_url=megasim.url, timeout_s=2)
    with pytest.raises(MegaRateLimited) as info:
        client.send(CUSTOMER, "bulk", b'{"leads": [{"contact_name": "x"}]}', "k")
    assert 0 < info.value.retry_after_s <= 60
    ok = client.send(CUSTOMER, "single", b'{"contact_name": "x"}', "key-9")
    assert ok.status == 201 and ok.rate.remaining is not None
    (last,) = [r for r in megasim.requests() if r["status"] == "201"]
    assert last["idempotency_key"] == "key-9"
    client.close()


@pytest.mark.parametrize(("endpoint", "answer"), [
    ("single", b"<html>OK</html>"), ("single", b'{"id": "x"}'), ("bulk", b'{"results": 3}'),
    ("bulk", b"[]"), ("bulk", b'{"results": ["x"]}'),
])
def test_a_2xx_that_is_not_megas_json_is_retryable(endpoint: str, answer: bytes) -> None:
    client = MegaClient(base_url="http://mega.test", timeout_s=1, transport=httpx.MockTransport(
        lambda request: httpx.Response(200, content=answer)))
    with pytest.raises(MegaUnavailable) as info:
        client.send(CUSTOMER, endpoint, b"{}", "k")
    assert info.value.status == 200


def test_409_for_a_key_in_progress_is_retryable_not_a_conflict() -> None:
    body = {"error": {"message": "a request with this Idempotency-Key is still in progress"}}
    client = MegaClient(base_url="http://mega.test", timeout_s=1, transport=httpx.MockTransport(
        lambda request: httpx.Response(409, json=body)))
    with pytest.raises(MegaUnavailable):
        client.send(CUSTOMER, "single", b"{}", "k")
