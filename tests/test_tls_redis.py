"""Heroku Redis hands out `rediss://` URLs with self-signed certificates: the web process and
the workers both work through one, here a real TLS terminator (its certificate signed by a
throwaway CA nobody trusts) in front of the test Redis."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import trustme

from gateway.app import create_app
from tests.conftest import ACME_ID, URL_TOKEN, Sim, build


class TlsTerminator:
    """Accepts TLS on a free port and relays the plaintext to Redis, both ways."""

    def __init__(self, upstream_port: int):
        ca = trustme.CA()
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert("127.0.0.1").configure_cert(self.context)
        self.upstream = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stopped:
            try:
                raw, _ = self.listener.accept()
                client = self.context.wrap_socket(raw, server_side=True)
            except OSError:
                continue
            server = socket.create_connection(("127.0.0.1", self.upstream))
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.close()
                except OSError:
                    pass

    def close(self) -> None:
        self.stopped = True
        self.listener.close()


@pytest.fixture
def tls_redis(redis_server: Any, redis_client: Any) -> Iterator[str]:
    terminator = TlsTerminator(redis_server.port)
    yield f"rediss://127.0.0.1:{terminator.port}/0"
    terminator.close()


def test_web_and_workers_work_through_rediss_with_a_self_signed_certificate(
        tls_redis: str, config_dict: dict[str, Any], megasim: Sim, drain_factory: Any) -> None:
    config = build(config_dict, tls_redis)
    assert config.redis_url.startswith("rediss://")
    client = create_app(config).test_client()
    assert client.get("/readyz").status_code == 200
    response = client.post(f"/hooks/acme-form/{URL_TOKEN}", json={"name": "Tls Lead"})
    assert response.status_code == 202
    drain = drain_factory(config)
    drain()
    assert [lead["contact_name"] for lead in megasim.leads(ACME_ID)] == ["Tls Lead"]
