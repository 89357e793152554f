"""Redis connections: one client per URL, `rediss://` verified unless told not to."""

from __future__ import annotations

import ssl
from typing import Any

import redis

from gateway import defaults


class RedisTlsUnverified(redis.ConnectionError):
    """The Redis server's TLS certificate did not verify."""


class VerifiedSSLConnection(redis.SSLConnection):
    """A `rediss://` connection whose failed certificate check says which setting to use."""

    def _connect(self) -> Any:
        try:
            return super()._connect()  # type: ignore[no-untyped-call]
        except ssl.SSLCertVerificationError as exc:
            raise RedisTlsUnverified(
                f"rediss://{self.host}:{self.port}: the server's certificate did not verify "
                f"({exc.verify_message}). For Heroku Redis, whose certificates are self-signed, "
                f"set REDIS_TLS_VERIFY=none") from None


def connect(url: str, *, socket_timeout: float = defaults.REDIS_SOCKET_TIMEOUT_S,
            **kwargs: Any) -> redis.Redis:
    """A client for url; `rediss://` verifies the server's certificate unless the URL says
    `ssl_cert_reqs=none` (what REDIS_TLS_VERIFY=none adds, see config.redis_url)."""
    options: dict[str, Any] = {"socket_timeout": socket_timeout,
                               "socket_connect_timeout": socket_timeout,
                               "health_check_interval": 30, **kwargs}
    if url.startswith("rediss://"):
        options.setdefault("connection_class", VerifiedSSLConnection)
    return redis.Redis.from_url(url, **options)
