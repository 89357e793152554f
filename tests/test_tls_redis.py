"""`rediss://` verifies the server's certificate: the web process and the workers work through
a real TLS terminator in front of the test Redis (its certificate signed by a throwaway CA)
when they trust that CA, refuse it (saying which setting to use) when they do not, and accept
it with REDIS_TLS_VERIFY=none, as Heroku Redis's self-signed certificates need."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from gateway.config import config_from_dict
from gateway.errors import ConfigError, StoreUnavailable
from gateway.store.connection import connect
from gateway.web.app import create_app
from tests.conftest import ACME_ID, URL_TOKEN, Sim, base_config, build


class TlsTerminator:
    """Accepts TLS on a free port and relays the plaintext to Redis, both ways."""

    def __init__(self, upstream_port: int, ca: trustme.CA):
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
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_redis(redis_server: Any, redis_client: Any, ca: trustme.CA) -> Iterator[str]:
    terminator = TlsTerminator(redis_server.port, ca)
    yield f"rediss://127.0.0.1:{terminator.port}/0"
    terminator.close()


def test_web_and_workers_work_through_rediss_verified_with_the_servers_ca(
        tls_redis: str, ca: trustme.CA, config_dict: dict[str, Any], megasim: Sim,
        drain_factory: Any, tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    config = build(config_dict, f"{tls_redis}?ssl_ca_certs={ca_file}")
    assert config.redis_url.startswith("rediss://")
    client = create_app(config).test_client()
    assert client.get("/readyz").status_code == 200
    response = client.post(f"/hooks/acme-form/{URL_TOKEN}", json={"name": "Tls Lead"})
    assert response.status_code == 202
    drain = drain_factory(config)
    drain()
    assert [lead["contact_name"] for lead in megasim.leads(ACME_ID)] == ["Tls Lead"]


def test_an_unverified_certificate_is_refused_naming_the_setting(tls_redis: str) -> None:
    with pytest.raises(StoreUnavailable, match="set REDIS_TLS_VERIFY=none"):
        connect(config_from_dict(base_config("", "http://127.0.0.1:1"),
                                 env={"REDIS_URL": tls_redis}).redis_url
                ).ping()


def test_redis_tls_verify_none_accepts_a_self_signed_certificate(
        tls_redis: str, config_dict: dict[str, Any]) -> None:
    config = config_from_dict(config_dict, env={"REDIS_URL": tls_redis,
                                                "REDIS_TLS_VERIFY": "none"})
    client = create_app(config).test_client()
    assert client.get("/readyz").status_code == 200
    assert client.post(f"/hooks/acme-form/{URL_TOKEN}", json={"name": "Tls Lead"}
                       ).status_code == 202
    with pytest.raises(ConfigError, match="REDIS_TLS_VERIFY: must be"):
        config_from_dict(config_dict, env={"REDIS_URL": tls_redis, "REDIS_TLS_VERIFY": "off"})
