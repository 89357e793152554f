"""Redis connections: one client per URL, `rediss://` verified unless told not to. The store's
edge: a client made here answers Redis trouble as StoreUnavailable (StoreFull when Redis is out
of memory), the one error the rest of leadgate handles."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import redis
from redis.client import Pipeline

from gateway import defaults
from gateway.errors import StoreFull, StoreUnavailable


def leadgates(exc: redis.RedisError) -> StoreUnavailable:
    """The leadgate error for a Redis error (a full Redis as its own 503)."""
    if isinstance(exc, redis.exceptions.OutOfMemoryError):    # "OOM command not allowed"
        return StoreFull()
    return StoreUnavailable(f"the event store is unavailable ({type(exc).__name__})")


@contextmanager
def translated() -> Iterator[None]:
    """Redis trouble as the one error callers handle: StoreUnavailable (or StoreFull)."""
    try:
        yield
    except redis.exceptions.NoScriptError:      # redis-py's Script loads the script and retries
        raise
    except redis.RedisError as exc:
        raise leadgates(exc) from exc


class StorePipeline(Pipeline):
    """A pipeline whose Redis trouble is StoreUnavailable."""

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        with translated():
            return super().execute(raise_on_error)


class StoreClient(redis.Redis):
    """A client whose Redis trouble is StoreUnavailable (each command, pipeline and script)."""

    def execute_command(self, *args: Any, **options: Any) -> Any:
        try:                                    # translated(), without a generator per call
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except redis.exceptions.NoScriptError:
            raise
        except redis.RedisError as exc:
            raise leadgates(exc) from exc

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> StorePipeline:
        return StorePipeline(self.connection_pool, self.response_callbacks, transaction,
                             shard_hint)


def store_client(client: redis.Redis) -> StoreClient:
    """client itself if it translates its errors, else one that does, on client's pool."""
    if isinstance(client, StoreClient):
        return client
    return StoreClient(connection_pool=client.connection_pool)


def plain(client: redis.Redis) -> redis.Redis:
    """A client on the same pool that raises what redis-py raises: RQ's, which handles it."""
    return redis.Redis(connection_pool=client.connection_pool)


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
            **kwargs: Any) -> StoreClient:
    """A client for url; `rediss://` verifies the server's certificate unless the URL says
    `ssl_cert_reqs=none` (what REDIS_TLS_VERIFY=none adds, see config.redis_url)."""
    options: dict[str, Any] = {"socket_timeout": socket_timeout,
                               "socket_connect_timeout": socket_timeout,
                               "health_check_interval": 30, **kwargs}
    if url.startswith("rediss://"):
        options.setdefault("connection_class", VerifiedSSLConnection)
    client = StoreClient.from_url(url, **options)
    assert isinstance(client, StoreClient)
    return client
