"""One overall deadline and a size cap for an outside call (gateway/deadline.py), against a
stand-in served over real HTTP: whole answers, trickled answers and answers that decode big."""

from __future__ import annotations

import gzip
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from werkzeug.serving import make_server

from gateway import defaults
from gateway.deadline import AnswerTooLarge, call_s, client_timeout, request_within

BIG = gzip.compress(b"a" * 1_000_000)          # ~1 KB on the wire, 1 MB decoded


def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    path = environ["PATH_INFO"]
    if path == "/trickle":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return trickle()
    if path == "/big":
        start_response("200 OK", [("Content-Encoding", "gzip"),
                                  ("Content-Length", str(len(BIG)))])
        return iter([BIG])
    start_response("201 Created", [("Content-Type", "application/json"), ("X-Seen", "yes")])
    return iter([b'{"ok":', b"true}"])


def trickle() -> Iterator[bytes]:
    for _ in range(20):
        time.sleep(0.05)
        yield b"x"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=client_timeout(5)) as client:
        yield client


def test_a_whole_answer_comes_back_with_its_status_body_and_headers(http: httpx.Client,
                                                                    url: str) -> None:
    status, body, headers = request_within(http, "GET", f"{url}/ok", deadline_s=5)
    assert (status, body, headers["x-seen"]) == (201, b'{"ok":true}', "yes")


def test_an_answer_trickling_past_the_deadline_is_cut_off(http: httpx.Client,
                                                          url: str) -> None:
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout, match="no whole answer within the deadline"):
        request_within(http, "GET", f"{url}/trickle", deadline_s=0.3)
    assert time.monotonic() - started < 0.8          # the whole trickle takes 1 s


def test_the_same_trickle_within_a_longer_deadline_is_read_whole(http: httpx.Client,
                                                                  url: str) -> None:
    status, body, _ = request_within(http, "GET", f"{url}/trickle", deadline_s=5)
    assert (status, body) == (200, b"x" * 20)


def test_an_answer_that_decodes_past_the_cap_fails(http: httpx.Client, url: str) -> None:
    with pytest.raises(AnswerTooLarge, match="answer larger than 1000 bytes") as caught:
        request_within(http, "GET", f"{url}/big", deadline_s=5, max_bytes=1000)
    assert caught.value.status == 200
    status, body, _ = request_within(http, "GET", f"{url}/big", deadline_s=5,
                                     max_bytes=2_000_000)
    assert (status, len(body)) == (200, 1_000_000)


def test_the_cap_is_named_in_mib_when_it_is_that_big() -> None:
    assert str(AnswerTooLarge(200, 8 * 1024 * 1024)) == "answer larger than 8 MiB"


def test_a_call_is_bounded_by_its_phases() -> None:
    timeout = client_timeout(30)
    assert timeout.read == 30 and timeout.connect == min(30, defaults.CONNECT_TIMEOUT_S)
    assert timeout.pool == defaults.POOL_TIMEOUT_S
    assert call_s(30) == defaults.POOL_TIMEOUT_S + min(30, defaults.CONNECT_TIMEOUT_S) + 60
    assert client_timeout(0.5).connect == min(0.5, defaults.CONNECT_TIMEOUT_S)
