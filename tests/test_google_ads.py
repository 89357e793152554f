"""The Google Ads client against megasim's Google stand-in over real HTTP: token caching and
refresh, paging to the end within bounds, the time window across time zones, and every failure
as the GoogleAdsError reconciliation and source health act on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from gateway.domain.sources.providers.google import GoogleSettings
from gateway.errors import GoogleAdsError
from megasim.google import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_CUSTOMER_ID,
    DEMO_DEVELOPER_TOKEN,
    DEMO_MANAGER_ID,
    DEMO_REFRESH_TOKEN,
)
from tests.conftest import Sim
from workers.google.ads import Credentials, GoogleAds, classify_ads
from workers.google.health import check

DAY = 1_780_000_000


def control(megasim: Sim, **change: Any) -> dict[str, Any]:
    response = megasim.http.patch("/_google", json=change)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def make(megasim: Sim, count: int = 1, **spec: Any) -> list[dict[str, str]]:
    response = megasim.http.post("/_google/leads", json={"count": count, **spec})
    response.raise_for_status()
    return response.json()["leads"]  # type: ignore[no-any-return]


def route_settings(megasim: Sim, **change: str) -> GoogleSettings:
    """A reconciling route's settings, reaching megasim's demo account through its manager."""
    return GoogleSettings(google_key="k" * 16, **{"ads_api_url": f"{megasim.url}/google/ads/v21",
            "oauth_token_url": f"{megasim.url}/google/token",
            "ads_customer_id": DEMO_CUSTOMER_ID, "login_customer_id": DEMO_MANAGER_ID,
            "developer_token": DEMO_DEVELOPER_TOKEN, "oauth_client_id": DEMO_CLIENT_ID,
            "oauth_client_secret": DEMO_CLIENT_SECRET,
            "oauth_refresh_token": DEMO_REFRESH_TOKEN, **change})


def creds(megasim: Sim, **change: str) -> Credentials:
    return Credentials.of(route_settings(megasim, **change))


@pytest.fixture
def ads() -> Iterator[GoogleAds]:
    client = GoogleAds(timeout_s=5)
    yield client
    client.close()


def ids(pages: Iterator[list[dict[str, Any]]]) -> list[str]:
    return [row["id"] for rows in pages for row in rows]


def test_pages_to_the_end_with_one_token_for_all_calls(megasim: Sim, ads: GoogleAds) -> None:
    control(megasim, page_size=2)
    made = make(megasim, 5, submitted=DAY)
    assert ids(ads.submissions(creds(megasim), since=DAY - 60)) == [s["id"] for s in made]
    assert ids(ads.submissions(creds(megasim), since=DAY - 60)) == [s["id"] for s in made]
    seen = control(megasim)
    assert seen["token_requests"] == 1 and len(seen["searches"]) == 6
    assert all(s["login_customer_id"] == DEMO_MANAGER_ID and s["developer_token"]
               for s in seen["searches"])
    assert "secret" not in repr(creds(megasim)) and DEMO_REFRESH_TOKEN not in repr(
        creds(megasim))


def test_window_is_exact_whatever_the_account_time_zone(megasim: Sim, ads: GoogleAds) -> None:
    for offset_min in (-480, 0, 330, 840):
        control(megasim, offset_min=offset_min)
        before = make(megasim, 1, submitted=DAY - 61)
        inside = make(megasim, 2, submitted=DAY)
        after = make(megasim, 1, submitted=DAY + 61)
        got = ids(ads.submissions(creds(megasim), since=DAY - 60, until=DAY + 60))
        assert got == [s["id"] for s in inside], offset_min
        assert before[0]["id"] not in got and after[0]["id"] not in got
        megasim.reset()


def test_forms_filter_by_asset(megasim: Sim, ads: GoogleAds) -> None:
    wanted = make(megasim, 1, submitted=DAY, form_id="111")
    make(megasim, 1, submitted=DAY, form_id="222")
    assert ids(ads.submissions(creds(megasim), since=DAY - 60, forms=("111",))) == \
        [wanted[0]["id"]]


def test_a_401_refreshes_the_token_once(megasim: Sim, ads: GoogleAds) -> None:
    make(megasim, 1, submitted=DAY)
    assert len(ids(ads.submissions(creds(megasim), since=DAY - 60))) == 1
    control(megasim, expire_access=True)
    assert len(ids(ads.submissions(creds(megasim), since=DAY - 60))) == 1
    assert control(megasim)["token_requests"] == 2
    control(megasim, token_ttl_s=0)                  # every new token is born expired
    control(megasim, expire_access=True)
    with pytest.raises(GoogleAdsError) as caught:
        list(ads.submissions(creds(megasim), since=DAY - 60))
    assert (caught.value.kind, caught.value.reason, caught.value.route_wide) == (
        "token_invalid", "OAUTH_TOKEN_EXPIRED", True)
    assert control(megasim)["token_requests"] == 3


@pytest.mark.parametrize(("change", "creds_change", "expected"), [
    ({"invalid_grant": True}, {}, ("token_invalid", "invalid_grant", True, "token_invalid")),
    ({}, {"oauth_client_secret": "GOCSPX-wrong"},
     ("token_invalid", "invalid_client", True, "token_invalid")),
    ({"denied": "USER_PERMISSION_DENIED"}, {},
     ("permission_missing", "USER_PERMISSION_DENIED", True, "permission_missing")),
    ({}, {"developer_token": "not-approved-token"},
     ("permission_missing", "DEVELOPER_TOKEN_NOT_APPROVED", True, "permission_missing")),
    ({}, {"login_customer_id": ""},
     ("permission_missing", "USER_PERMISSION_DENIED", True, "permission_missing")),
    ({"exhausted_next": 1, "retry_delay_s": 42}, {},
     ("throttled", "RESOURCE_EXHAUSTED", False, "unknown")),
])
def test_failures_as_health_kinds(megasim: Sim, ads: GoogleAds, change: dict[str, Any],
                                  creds_change: dict[str, str], expected: tuple[Any, ...]
                                  ) -> None:
    control(megasim, **change)
    with pytest.raises(GoogleAdsError) as caught:
        list(ads.submissions(creds(megasim, **creds_change), since=DAY))
    error = caught.value
    assert (error.kind, error.reason, error.route_wide, error.health) == expected
    assert error.retry_after_s == (42.0 if error.kind == "throttled" else None)
    assert DEMO_CLIENT_SECRET not in str(error) and DEMO_REFRESH_TOKEN not in str(error)


def test_paging_that_never_ends_is_cut_with_an_error(megasim: Sim, ads: GoogleAds) -> None:
    make(megasim, 3, submitted=DAY)
    control(megasim, stuck_paging=True, page_size=1)
    with pytest.raises(GoogleAdsError) as caught:
        list(ads.submissions(creds(megasim), since=DAY - 60))
    assert caught.value.reason == "PAGING_LOOP"
    assert len(control(megasim)["searches"]) == 2
    control(megasim, stuck_paging=False)
    capped = GoogleAds(timeout_s=5, max_pages=2)
    with pytest.raises(GoogleAdsError) as cut:
        list(capped.submissions(creds(megasim), since=DAY - 60))
    capped.close()
    assert cut.value.reason == "TOO_MANY_PAGES"


def test_unreachable_and_unshaped_answers(ads: GoogleAds) -> None:
    gone = Credentials("http://127.0.0.1:9/v21", "http://127.0.0.1:9/token", "1234567890", "",
                       "d" * 8, "c" * 8, "s" * 8, "r" * 8)
    with pytest.raises(GoogleAdsError) as caught:
        list(ads.submissions(gone, since=DAY))
    assert (caught.value.kind, caught.value.route_wide) == ("unavailable", False)
    assert classify_ads(502, None).kind == "unavailable"
    assert classify_ads(400, {"error": "text"}).kind == "unknown"
    assert classify_ads(429, {}).retry_after_s is None


@pytest.mark.parametrize(("change", "creds_change", "state"), [
    ({}, {}, ("healthy", "")),
    ({"invalid_grant": True}, {}, ("token_invalid", "invalid_grant")),
    ({"denied": "USER_PERMISSION_DENIED"}, {}, ("permission_missing", "USER_PERMISSION_DENIED")),
    ({}, {"developer_token": "not-approved-token"},
     ("permission_missing", "DEVELOPER_TOKEN_NOT_APPROVED")),
    ({"exhausted_next": 1}, {}, ("unknown", "RESOURCE_EXHAUSTED")),
])
def test_source_health_states(megasim: Sim, ads: GoogleAds, change: dict[str, Any],
                              creds_change: dict[str, str], state: tuple[str, str]) -> None:
    control(megasim, **change)
    found = check(ads, route_settings(megasim, **creds_change), float(DAY))
    assert (found["state"], found["reason"]) == state
    assert DEMO_REFRESH_TOKEN not in found["detail"]
