"""A multi-process deployment (2 gunicorn workers, 2 RQ workers): /metrics adds up across all
of them, and the logs are JSON lines that never carry a secret or raw contact data."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bench.harness import URL_TOKEN, Stack

ADMIN = {"Authorization": "Bearer bench-admin-token-0123456789abcdef"}
N = 24


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with Stack(customers=2, workers=2, web_concurrency=2, linger_ms=50, quiet=False) as running:
        yield running


def samples(stack: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(f"{stack.web_url}/metrics", headers=ADMIN).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict[Any, float], name: str, **labels: str) -> float:
    return sum(v for (n, got), v in found.items()
               if n == name and all(dict(got).get(k) == want for k, want in labels.items()))


def wait_until(check: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def traffic(stack: Stack) -> dict[str, Any]:
    """N leads with real-looking contacts, one bad token, one duplicate."""
    with httpx.Client() as http:
        for i in range(N):
            body = {"id": f"obs-{i}", "name": f"Obs Person {i}",
                    "email": f"obs.person{i}@example.com", "phone": f"+1206555{1000 + i}"}
            assert http.post(stack.hook(i % 2), json=body).status_code == 202
        assert http.post(stack.hook(0), json={"id": "obs-0", "name": "Obs Person 0"}
                         ).status_code == 200
        bad = http.post(f"{stack.web_url}/hooks/r0/{'x' * len(URL_TOKEN)}", json={"id": "z"})
        assert bad.status_code == 401
    wait_until(lambda: sum(stack.sim("/_megasim/stats")["leads"].values()) == N)
    return {}


def test_metrics_add_up_across_processes(stack: Stack, traffic: dict[str, Any]) -> None:
    assert httpx.get(f"{stack.web_url}/metrics").status_code == 401
    wait_until(lambda: value(samples(stack), "leadgate_leads_delivered_total") == N)
    found = samples(stack)
    assert value(found, "leadgate_webhooks_total", outcome="accepted") == N
    assert value(found, "leadgate_webhooks_total", route="r0", outcome="duplicate") == 1
    assert value(found, "leadgate_webhooks_total", route="(unknown)") == 0
    assert value(found, "leadgate_webhooks_total", outcome="unauthorized") == 1
    assert value(found, "leadgate_intake_seconds_count") == N + 2
    assert value(found, "leadgate_delivery_seconds_count", customer="c0") == N / 2
    assert value(found, "leadgate_mega_requests_total", code="200") >= 2
    assert value(found, "leadgate_leads_pending") == 0
    assert value(found, "leadgate_leads_in_flight") == 0
    assert value(found, "leadgate_dead_letters") == 0


TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
PARAMETER = re.compile(rf'[ \t]*;[ \t]*({TOKEN})=({TOKEN}|"(?:[^"\\]|\\.)*")')


def media_type(header: str) -> tuple[str, dict[str, str]]:
    """RFC 9110 section 8.3.1, strictly: type/subtype, then `; name=value` parameters, each
    name once (case-insensitive); anything else raises ValueError."""
    found = re.match(rf"({TOKEN})/({TOKEN})", header)
    if found is None:
        raise ValueError(f"no type/subtype in {header!r}")
    params: dict[str, str] = {}
    at = found.end()
    while at < len(header):
        param = PARAMETER.match(header, at)
        if param is None:
            raise ValueError(f"not a parameter at {header[at:]!r}")
        name = param.group(1).lower()
        if name in params:
            raise ValueError(f"duplicate parameter {name!r} in {header!r}")
        params[name], at = param.group(2).strip('"'), param.end()
    return f"{found.group(1)}/{found.group(2)}".lower(), params


def test_the_strict_parser_refuses_what_prometheus_refuses() -> None:
    assert media_type("text/plain; version=0.0.4; charset=utf-8") == (
        "text/plain", {"version": "0.0.4", "charset": "utf-8"})
    for bad in ("text/plain; version=0.0.4; charset=utf-8; charset=utf-8",
                "text/plain; Charset=utf-8; charset=utf-8", "text/plain;", "text"):
        with pytest.raises(ValueError):
            media_type(bad)


def test_metrics_content_type_is_one_valid_header(stack: Stack) -> None:
    answer = httpx.get(f"{stack.web_url}/metrics", headers=ADMIN)
    assert answer.headers.get_list("content-type") == [answer.headers["content-type"]]
    kind, params = media_type(answer.headers["content-type"])
    assert (kind, params) == ("text/plain", {"version": "0.0.4", "charset": "utf-8"})


def test_metrics_answer_openmetrics_when_the_scraper_asks(stack: Stack,
                                                          traffic: dict[str, Any]) -> None:
    accept = ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
              "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")  # Prometheus's
    answer = httpx.get(f"{stack.web_url}/metrics", headers={**ADMIN, "Accept": accept})
    kind, params = media_type(answer.headers["content-type"])
    assert kind == "application/openmetrics-text" and params["charset"] == "utf-8"
    assert answer.text.endswith("# EOF\n")
    assert "leadgate_leads_delivered_total" in answer.text


def test_promtool_checks_a_live_scrape_clean(stack: Stack, traffic: dict[str, Any]) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        why = "promtool not installed (apt-get install prometheus)"
        if os.environ.get("LEADGATE_REQUIRE_PROMTOOL"):
            pytest.fail(why)
        pytest.skip(why)
    text = httpx.get(f"{stack.web_url}/metrics", headers=ADMIN).text
    checked = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                             text=True, timeout=60)
    assert (checked.returncode, checked.stdout + checked.stderr) == (0, "")


def test_logs_are_json_without_secrets_or_contacts(stack: Stack,
                                                   traffic: dict[str, Any]) -> None:
    time.sleep(1.5)                                   # the last lines reach the files
    # leadgate's own processes (megasim prints its tenants' test keys on purpose)
    text = "".join(p.read_text() for p in [stack.dir / "web.log", *stack.dir.glob("worker*")])
    secrets = [URL_TOKEN, "bench-admin-token-0123456789abcdef", *stack.tokens]
    contacts = [f"obs.person{i}@example.com" for i in range(N)] + \
        [f"206555{1000 + i}" for i in range(N)] + ["Obs Person"]
    assert [s for s in secrets + contacts if s in text] == []
    assert "Logging error" not in text              # gunicorn's own lines format too
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    hooks = [line for line in lines if line["message"] == "webhook"]
    calls = [line for line in lines if line["message"] == "mega call"]
    assert len(hooks) == N + 2
    assert {"route", "customer", "events", "outcome", "duration_ms"} <= hooks[0].keys()
    assert all(line["events"] for line in hooks if line["outcome"] == "accepted")
    assert calls and {"customer", "endpoint", "status", "duration_ms"} <= calls[0].keys()


def test_oversized_body_is_refused_before_it_is_read(stack: Stack) -> None:
    """gunicorn + Flask answer 413 from the Content-Length alone: the 100 MB never comes."""
    with socket.create_connection(("127.0.0.1", stack.web_port), timeout=5) as sock:
        sock.sendall(f"POST /hooks/r0/{URL_TOKEN} HTTP/1.1\r\nHost: x\r\n"
                     "Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n{"
                     .encode())
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 413"), answer[:200]


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_both_log_formats_mask_contacts_and_keep_the_fields(fmt: str) -> None:
    import io
    import logging

    from gateway.logs import configure

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    out = io.StringIO()
    try:
        configure(stream=out, fmt=fmt)
        logging.getLogger("leadgate.worker").warning(
            "MEGA 400: %s", "contact_email 'ana.rivera@example.com' / +1 (415) 555-0123",
            extra={"customer": "acme", "outcome": "MegaBadRequest"})
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    line = out.getvalue()
    assert "ana.rivera@example.com" not in line and "555-0123" not in line
    assert "a***@example.com" in line and "***23" in line
    if fmt == "json":
        assert json.loads(line)["customer"] == "acme"
    else:
        assert "customer=acme" in line and "outcome=MegaBadRequest" in line


def _raise_with_contacts() -> None:
    raise ValueError("MEGA refused contact_email 'ana.rivera@example.com', +1 (415) 555-0123")


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_tracebacks_and_exception_text_are_masked_in_both_formats(fmt: str) -> None:
    import io
    import logging

    from gateway.logs import configure

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    out = io.StringIO()
    log = logging.getLogger("leadgate.worker")
    try:
        configure(stream=out, fmt=fmt)
        try:
            _raise_with_contacts()
        except ValueError as exc:
            log.exception("flush failed")
            log.error(exc)                                  # the exception as the message
            log.warning("slow", stack_info=True, extra={"detail": {"to": ["bo@example.org"]}})
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    text = out.getvalue()
    for raw in ("ana.rivera@example.com", "555-0123", "bo@example.org"):
        assert raw not in text
    assert "_raise_with_contacts" in text and "ValueError" in text   # the traceback is kept
    assert text.count("a***@example.com") >= 2 and "b***@example.org" in text
    if fmt == "json":
        lines = [json.loads(line) for line in text.splitlines()]
        assert "ValueError" in lines[0]["exc_info"] and len(lines) == 3
