"""Metrics that add up across processes (gateway/store/metrics.py), on a real Redis: counts
kept in memory and added to one hash, kept through a Redis outage, windowed for the console,
and rendered from what every process wrote. (/metrics over HTTP, promtool and a multi-process
deployment: tests/test_observability.py.)"""

from __future__ import annotations

import json

import redis
from prometheus_client.parser import text_string_to_metric_families

from bench.harness import free_port
from gateway import defaults
from gateway.store.keys import Keys
from gateway.store.metrics import Metrics, render, series
from gateway.store.store import Store

KEYS = Keys()


def process(client: redis.Redis) -> Metrics:
    """One process's metrics, as a Store makes them."""
    return Metrics(client, KEYS.metrics, window=KEYS.metrics_window)


def stored(client: redis.Redis) -> dict[str, float]:
    return {k.decode(): float(v) for k, v in client.hgetall(KEYS.metrics).items()}


def test_counts_stay_in_memory_until_a_flush_adds_them_up(redis_client: redis.Redis) -> None:
    one, two = process(redis_client), process(redis_client)
    one.inc("leadgate_webhooks", route="acme-form", outcome="accepted")
    one.inc("leadgate_webhooks", 2, route="acme-form", outcome="accepted")
    two.inc("leadgate_webhooks", route="acme-form", outcome="accepted")
    field = series("leadgate_webhooks", outcome="accepted", route="acme-form")
    assert field == '["leadgate_webhooks",{"outcome":"accepted","route":"acme-form"}]'
    assert field not in stored(redis_client)
    one.flush()
    two.flush()
    assert stored(redis_client)[field] == 4
    one.flush()                                       # nothing new: nothing added twice
    assert stored(redis_client)[field] == 4
    one.close()
    two.close()


def test_a_duration_lands_in_its_bucket_and_the_sum(redis_client: redis.Redis) -> None:
    metrics = process(redis_client)
    for seconds in (0.003, 0.2, 0.2, 7200.0):
        metrics.observe("leadgate_intake_seconds", seconds, route="r")
    metrics.close()
    got = stored(redis_client)

    def bucket(name: str) -> float:
        return got[series("leadgate_intake_seconds", route="r", bucket=name)]

    assert (bucket("0.005"), bucket("0.25"), bucket("+Inf")) == (1, 2, 1)
    assert bucket("sum") == 7200.403


def test_counts_made_while_redis_is_down_are_kept_for_the_next_flush(
        redis_client: redis.Redis) -> None:
    down = redis.Redis(port=free_port(), socket_connect_timeout=0.2)
    metrics = Metrics(down, KEYS.metrics)
    metrics.inc("leadgate_leads_dead", customer="acme", reason="rejected")
    metrics.flush()                                   # fails quietly, keeps the count
    metrics.inc("leadgate_leads_dead", customer="acme", reason="rejected")
    metrics.redis = redis_client                      # Redis is back
    metrics.close()
    field = series("leadgate_leads_dead", customer="acme", reason="rejected")
    assert stored(redis_client)[field] == 2


def test_closing_writes_now_and_stops_the_background_thread(redis_client: redis.Redis) -> None:
    metrics = process(redis_client)
    metrics.inc("leadgate_mega_requests", endpoint="bulk", code="200")
    thread = metrics._thread
    assert thread is not None and thread.is_alive()
    metrics.close()
    assert not thread.is_alive()
    assert stored(redis_client)[series("leadgate_mega_requests", endpoint="bulk",
                                       code="200")] == 1
    metrics.inc("leadgate_mega_requests", endpoint="bulk", code="200")
    assert metrics._thread is thread                  # no new thread after close
    metrics.flush()
    assert stored(redis_client)[series("leadgate_mega_requests", endpoint="bulk",
                                       code="200")] == 2


def test_the_windows_hold_counters_only_and_expire(redis_client: redis.Redis) -> None:
    metrics = process(redis_client)
    metrics.inc("leadgate_leads_delivered", 3, customer="acme", status="created")
    metrics.observe("leadgate_delivery_seconds", 1.0, customer="acme")
    metrics.close()
    totals = metrics.window_totals(300, 3600)
    assert totals == [("leadgate_leads_delivered", {"customer": "acme", "status": "created"},
                       3.0)]
    for size, kept in defaults.METRICS_WINDOWS:
        (key,) = redis_client.scan_iter(f"{KEYS.metrics}:{size}s:*")
        assert 0 < redis_client.ttl(key) <= kept


def test_the_rendering_adds_up_every_process_and_reads_the_state(
        redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    for _ in range(2):
        metrics = process(redis_client)
        metrics.inc("leadgate_leads_delivered", customer="acme", status="created")
        metrics.observe("leadgate_delivery_seconds", 0.02, customer="acme")
        metrics.close()
    redis_client.rpush(KEYS.buffer("acme"), "evt_1", "evt_2")
    redis_client.hset(KEYS.source_health, "meta-1", json.dumps({"state": "token_invalid"}))
    body, content_type = render(store, ["acme"])
    assert content_type.startswith("text/plain")
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(body.decode())
               for s in family.samples}
    assert samples[("leadgate_leads_delivered_total",
                    (("customer", "acme"), ("status", "created")))] == 2
    assert samples[("leadgate_delivery_seconds_bucket", (("customer", "acme"), ("le", "0.01")))
                   ] == 0
    assert samples[("leadgate_delivery_seconds_bucket", (("customer", "acme"), ("le", "+Inf")))
                   ] == 2
    assert samples[("leadgate_leads_pending", (("customer", "acme"),))] == 2
    assert samples[("leadgate_source_health", (("route", "meta-1"), ("state", "token_invalid")))
                   ] == 1
    assert samples[("leadgate_source_health", (("route", "meta-1"), ("state", "healthy")))] == 0
    assert samples[("leadgate_redis_memory_used_bytes", ())] > 0
    store.close()
