"""The store's edge: Redis trouble comes out as StoreUnavailable (StoreFull when Redis is out
of memory), and a script survives a flushed script cache."""

from __future__ import annotations

import pytest
import redis

from bench.harness import free_port
from gateway.errors import StoreFull, StoreUnavailable
from gateway.store import scripts
from gateway.store.connection import connect, store_client
from gateway.store.store import Store


def test_a_redis_that_does_not_answer_is_store_unavailable() -> None:
    client = connect(f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.5)
    store = Store(client)
    with pytest.raises(StoreUnavailable) as raised:
        store.ping()
    assert isinstance(raised.value.__cause__, redis.ConnectionError)
    with pytest.raises(StoreUnavailable):
        store.sessions.count_signin("ab12")           # a script
    with pytest.raises(StoreUnavailable):
        store.alerts.forget("alrt_1.slack")           # a pipeline
    client.close()


def test_a_full_redis_is_store_full(redis_client: redis.Redis) -> None:
    used = int(redis_client.info("memory")["used_memory"])
    redis_client.config_set("maxmemory", used // 2)
    try:
        with pytest.raises(StoreFull):
            store_client(redis_client).set("leadgate:x", "y" * 1000)
    finally:
        redis_client.config_set("maxmemory", 0)


def test_a_script_is_loaded_again_after_a_script_flush(redis_client: redis.Redis) -> None:
    client = store_client(redis_client)
    count = scripts.register(client, "signin_count")
    assert count(keys=["leadgate:signin-failures:t"], args=[60]) == 1
    redis_client.script_flush()
    assert count(keys=["leadgate:signin-failures:t"], args=[60]) == 2
