"""Bounds on what comes from outside: upstream answers are read up to a cap on decoded bytes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

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
from workers.graph import GraphError
from workers.mega import MegaClient
from workers.meta_pages import MetaPages
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
