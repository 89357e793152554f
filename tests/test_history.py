"""The charts' hourly history: written by the metrics flush, by the app's clock, 8 days."""

from __future__ import annotations

from typing import Any

import redis

from gateway.store.keys import Keys
from gateway.store.metrics import Metrics
from gateway.store.state.history import LAG_BUCKETS, History, quantile

DAY = 1_777_593_600                # a UTC midnight


def metrics(client: redis.Redis, clock: list[float]) -> Metrics:
    keys = Keys()
    return Metrics(client, keys.metrics, window=keys.metrics_window,
                   history=History(client, keys), clock=lambda: clock[0])


def test_counts_land_in_their_hour_by_the_clock_and_a_silent_hour_is_a_gap(
        redis_client: redis.Redis) -> None:
    clock = [DAY + 5 * 3600 + 10.0]
    m = metrics(redis_client, clock)
    m.inc("leadgate_webhooks", route="a", outcome="accepted")
    m.inc("leadgate_webhooks", 2, route="a", outcome="bad_request")
    m.inc("leadgate_webhooks", route="a", outcome="check")
    m.inc("leadgate_webhooks", route="(unknown)", outcome="unauthorized")
    m.inc("leadgate_leads_delivered", customer="c", status="created")
    m.observe("leadgate_delivery_seconds", 7, customer="c")
    m.flush()
    clock[0] += 2 * 3600                                   # hour 6: nothing ran
    m.inc("leadgate_leads_dead", customer="c", reason="rejected")
    m.flush()
    hours = History(redis_client, Keys()).read(["a"], ["c"], DAY + 4 * 3600, 4)
    assert [h.alive for h in hours] == [False, True, False, True]
    assert hours[1].routes["a"] == {"accepted": 1, "duplicate": 0, "rejected": 2, "ignored": 0}
    assert hours[1].customers["c"]["delivered"] == 1
    assert quantile(hours[1].customers["c"]["lag"], 0.5) == 10.0
    assert hours[3].customers["c"] == {"delivered": 0, "dead": 1,
                                       "lag": [0] * (len(LAG_BUCKETS) + 1)}
    assert hours[1].memory > 0
    assert not redis_client.keys("*unknown*")


def test_an_idle_process_marks_its_hours_alive(redis_client: redis.Redis) -> None:
    clock = [DAY + 3600.0]
    m = metrics(redis_client, clock)
    m.flush()
    hours = History(redis_client, Keys()).read([], [], DAY, 3)
    assert [h.alive for h in hours] == [False, True, False]


def test_the_history_lives_eight_days_by_the_clock(redis_client: redis.Redis) -> None:
    clock = [DAY + 23 * 3600.0]
    m = metrics(redis_client, clock)
    m.inc("leadgate_webhooks", route="a", outcome="accepted")
    m.flush()
    ttls = {k: redis_client.ttl(k) for k in redis_client.keys("leadgate:history:*")}
    assert len(ttls) == 2 and all(8 * 86_400 <= t <= 8 * 86_400 + 3600 for t in ttls.values())


def test_lag_quantiles_come_from_fixed_buckets() -> None:
    buckets: list[Any] = [0] * (len(LAG_BUCKETS) + 1)
    assert quantile(buckets, 0.5) is None
    buckets[0], buckets[4], buckets[-1] = 10, 9, 1
    assert (quantile(buckets, 0.5), quantile(buckets, 0.95), quantile(buckets, 1.0)) == (
        0.5, 10.0, float("inf"))


def test_twenty_routes_and_customers_over_eight_days_cost_under_one_percent_of_25_mb(
        redis_client: redis.Redis) -> None:
    from bench.history import PLAN_BYTES, fill, measure

    fill(redis_client, 2, 2)
    sizes = measure(redis_client)
    per_day = {kind: max(values) for kind, values in sizes.items()}
    assert per_day["route"] < 500 and per_day["customer"] < 850    # made at size, not doubled
    total = 8 * (20 * per_day["route"] + 20 * per_day["customer"] + per_day["hours"])
    assert total < PLAN_BYTES / 100
