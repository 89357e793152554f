"""Bounds on what comes from outside: upstream answers are read up to a cap on decoded bytes;
an upload of many tiny rows costs the web process and Redis a bounded amount."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
import redis

from bench.harness import Stack
from gateway import defaults

BOMB_MB = 256                  # what the stand-in's answer decodes to, megabytes
READER_GROWTH_MB = 200         # the reading process grows less with the cap (measured ~136 MB: the
                               # cap plus one 64 KiB read decoded), over 500 MB without


def gzip_bomb(megabytes: int) -> bytes:
    """megabytes of zeros, gzip-compressed (about 1/1000 of the size), made a megabyte at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * (1024 * 1024)
    return b"".join(packer.compress(zeros) for _ in range(megabytes)) + packer.flush()


class Bomb(BaseHTTPRequestHandler):
    """Answers every GET and POST with a 200 whose gzip body decodes to BOMB_MB."""

    body = b""

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def bomb_url() -> Iterator[str]:
    Bomb.body = gzip_bomb(BOMB_MB)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Bomb)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


READER = """
import json, resource, sys
from gateway.config import Customer
from workers.meta.graph import GraphError
from gateway.mega.client import MegaClient
from workers.meta.pages import MetaPages
from gateway.errors import MegaUnavailable

url, which = sys.argv[1], sys.argv[2]
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    if which == "graph":
        MetaPages(timeout_s=30).get(url + "/v19.0/123/leads", "token", {})
    else:
        customer = Customer(name="acme", customer_id="c", token="t")
        MegaClient(base_url=url, timeout_s=30).send(customer, "single", b"{}", "lgd-1")
    error = None
except (GraphError, MegaUnavailable) as exc:
    error = {"message": str(exc), "status": getattr(exc, "status", None),
             "kind": getattr(exc, "kind", None), "type": type(exc).__name__}
growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"error": error, "growth_mb": growth / 1024}))
"""


def read_bomb(url: str, which: str) -> dict[str, object]:
    """Call the bomb as the workers do, in a process of its own: its error and peak growth."""
    done = subprocess.run([sys.executable, "-c", READER, url, which], capture_output=True,
                          timeout=120, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def test_a_graph_answer_that_decodes_past_the_cap_fails_without_being_read(
        bomb_url: str) -> None:
    out = read_bomb(bomb_url, "graph")
    assert out["error"] == {"message": "Graph 200: answer larger than 8 MiB", "status": None,
                            "kind": "unavailable", "type": "GraphError"}
    assert out["growth_mb"] < READER_GROWTH_MB     # without the cap: over 2 x 256 MB


def test_a_mega_answer_that_decodes_past_the_cap_is_a_counted_retry(bomb_url: str) -> None:
    out = read_bomb(bomb_url, "mega")
    assert out["error"] == {"message": "MEGA's answer larger than 8 MiB", "status": 200,
                            "kind": None, "type": "MegaUnavailable"}
    assert out["growth_mb"] < READER_GROWTH_MB


# -- imports: a real gunicorn web process and Redis -------------------------------------------

ADMIN = {"Authorization": "Bearer bench-admin-token-0123456789abcdef"}
WEB_GROWTH_MB = 64             # the web process's peak RSS grows less than this for an upload
REDIS_GROWTH_MB = 2            # a real import of failed rows adds less than this to Redis
TINY_ROWS = 131_072            # 0.26 MB of two-byte rows: +139 MB web RSS, +15.5 MB Redis before


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with Stack(customers=1, workers=0, start_workers=False, web_concurrency=1,
               web_threads=2) as running:
        yield running


def web_memory_kb(stack: Stack) -> tuple[int, int]:
    """The gunicorn worker's RSS and peak RSS (VmHWM), kilobytes."""
    (worker,) = psutil.Process(stack.procs["web"].pid).children()
    status = Path(f"/proc/{worker.pid}/status").read_text()
    return tuple(int(status.split(f"{name}:")[1].split()[0])  # type: ignore[return-value]
                 for name in ("VmRSS", "VmHWM"))


def post_csv(stack: Stack, body: bytes, *, dry_run: bool = False) -> httpx.Response:
    params = {"customer": "c0", **({"dry_run": "true"} if dry_run else {})}
    return httpx.post(f"{stack.web_url}/v1/imports", params=params, content=body,
                      headers={**ADMIN, "Content-Type": "text/csv"}, timeout=60)


def upload(stack: Stack, body: bytes, *, dry_run: bool) -> dict[str, Any]:
    """POST the CSV, then the report once its background reading ended."""
    created = post_csv(stack, body, dry_run=dry_run)
    assert created.status_code == 202, created.text
    hook = httpx.post(stack.hook(0), json={"id": "w1", "email": "ana@example.com"}, timeout=10)
    assert hook.status_code < 300             # webhooks are answered while the upload is read
    for _ in range(1200):
        report: dict[str, Any] = httpx.get(f"{stack.web_url}{created.headers['Location']}",
                                           headers=ADMIN, timeout=10).json()
        if report["status"] not in ("reading", "previewing"):
            return report
        time.sleep(0.1)
    raise AssertionError(f"the upload is still being read: {report}")


def tiny_rows(rows: int) -> bytes:
    """A CSV of two-byte rows, each a failed row (no usable contact)."""
    return b"email\n" + b"x\n" * rows


@pytest.mark.timeout(600)
def test_an_upload_of_tiny_rows_keeps_web_memory_and_redis_bounded(stack: Stack) -> None:
    r = redis.Redis.from_url(stack.redis.url)
    too_many = post_csv(stack, tiny_rows(defaults.IMPORT_MAX_ROWS + 1))
    assert too_many.status_code == 413 and "more than 200000 rows" in too_many.text
    body = tiny_rows(TINY_ROWS)
    rss, _ = web_memory_kb(stack)
    dry = upload(stack, body, dry_run=True)
    assert dry["status"] == "preview" and dry["counts"]["failed"] == TINY_ROWS
    assert len(dry["rows"]) == 100 and len(dry["errors"]) == 100
    before = r.info("memory")["used_memory"]
    real = upload(stack, body, dry_run=False)
    assert real["counts"]["failed"] == TINY_ROWS and len(real["errors"]) == 100
    grown = r.info("memory")["used_memory"] - before
    _, peak = web_memory_kb(stack)
    keys = list(r.scan_iter("leadgate:import:*:errors"))
    assert [r.llen(k) for k in keys] == [defaults.IMPORT_ERRORS_KEPT]
    assert grown < REDIS_GROWTH_MB * 1024 * 1024, grown
    assert (peak - rss) / 1024 < WEB_GROWTH_MB, (rss, peak)
