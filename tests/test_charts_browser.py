"""The console's charts in a real headless Chromium: a known pattern of leads over two routes
and three hours (and a gap hour), read back from each chart's table; phone width; the CSP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from gateway.web.context import app_context
from tests.conftest import URL_TOKEN, Drainer, build
from tests.test_console_browser import (  # noqa: F401
    SHOTS,
    Served,
    browser,
    serving,
    sign_in,
    visit,
)
from workers.context import bind, build_context

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
HOUR = 3600


class Clock:
    """The one clock of the web app and the worker, moved by the test."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@contextmanager
def stack(config_dict: dict[str, Any], redis_url: str, clock: Clock) -> Iterator[Any]:
    """The web app on a real port and a worker, both on the test's clock."""
    config = build(config_dict, redis_url)
    ctx = build_context(config, clock=clock)
    bind(ctx)
    try:
        with serving(config, clock=clock) as served:
            yield served, Drainer(ctx)
    finally:
        bind(None)
        ctx.close()


def post(served: Served, route: str, *names: str) -> None:
    for name in names:
        answer = httpx.post(f"{served.url}/hooks/{route}/{URL_TOKEN}", json={"name": name})
        assert answer.status_code == 202, answer.text


def settle(served: Served, drainer: Drainer) -> None:
    """Deliver what is queued; both processes' counts written in this hour."""
    drainer()
    drainer.ctx.store.metrics.flush()
    app_context(served.app).store.metrics.flush()


def table(driver: Any, title: str) -> dict[str, list[str]]:
    """A chart's text alternative, as Chromium has it: hour -> its cells (the header too)."""
    rows = driver.execute_script(
        "const c = [...document.querySelectorAll('table.chart-data')].find("
        "  t => t.caption.textContent.startsWith(arguments[0]));"
        "return c ? [...c.rows].map(r => [...r.cells].map(x => x.textContent.trim())) : null;",
        title)
    assert rows, f"no chart titled {title}"
    return {row[0]: row[1:] for row in rows}


def play(served: Served, drainer: Drainer, clock: Clock, megasim: Any, h0: int) -> None:
    """Hour 0: 3 acme-form, 1 globex-form, all delivered at once. Hour 1: nothing runs.
    Hour 2: 2 acme-form delivered 20 s later, 1 globex-form dead. Hour 3: 1 globex-form."""
    clock.now = h0 + 600
    post(served, "acme-form", "Ann", "Bea", "Cy")
    post(served, "globex-form", "Dot")
    settle(served, drainer)
    clock.now = h0 + 2 * HOUR + 600
    post(served, "acme-form", "Eve", "Fay")
    clock.now += 20
    settle(served, drainer)
    megasim.faults(reject_containing="Reject")
    post(served, "globex-form", "Reject Gus")
    settle(served, drainer)
    megasim.faults(reject_containing="")
    clock.now = h0 + 3 * HOUR + 60
    post(served, "globex-form", "Hal")
    settle(served, drainer)


def test_each_chart_reads_back_the_pattern_hour_by_hour_with_its_gap(
        browser: Any, config_dict: dict[str, Any], redis_server: Any, redis_client: Any,  # noqa: F811
        megasim: Any) -> None:
    h3 = int(time.time()) // HOUR * HOUR
    h0 = h3 - 3 * HOUR
    clock = Clock(h0)
    with stack(config_dict, redis_server.url, clock) as (served, drainer):
        play(served, drainer, clock, megasim, h0)
        sign_in(browser, served)
        visit(browser, f"{served.url}/console/")
        hours = [time.strftime("%H:00", time.gmtime(h0 + i * HOUR)) for i in range(4)]
        gap = ["no data"]
        accepted = table(browser, "Webhooks accepted per hour")
        assert accepted["hour (UTC)"] == ["acme-form", "acme-signed", "globex-form"]
        assert [accepted[h] for h in hours] == [["3", "0", "1"], gap * 3, ["2", "0", "1"],
                                                ["0", "0", "1"]]
        assert len(accepted) == 25 and accepted[time.strftime(
            "%H:00", time.gmtime(h0 - HOUR))] == gap * 3           # before the test: a gap
        delivered = table(browser, "Leads delivered per hour")
        assert [delivered[h] for h in hours] == [["3", "1"], gap * 2, ["2", "0"], ["0", "1"]]
        dead = table(browser, "Dead letters per hour")
        assert [dead[h] for h in hours] == [["0", "0"], gap * 2, ["0", "1"], ["0", "0"]]
        lag = table(browser, "Delivery lag per hour")
        assert lag["hour (UTC)"] == ["p50", "p95"]
        assert [lag[h] for h in hours] == [["≤ 0.5"] * 2, gap * 2, ["≤ 30"] * 2, ["≤ 0.5"] * 2]
        memory = table(browser, "Redis memory used")
        assert memory[hours[1]] == ["no data"] and float(memory[hours[3]][0]) > 0
        bars = browser.execute_script(
            "return [...document.querySelectorAll('svg.chart rect title')].map(t => t.textContent)")
        assert f"{hours[0]} acme-form: 3 webhooks" in bars
        assert f"{hours[1]}: no data (nothing ran)" in bars

        visit(browser, f"{served.url}/console/customers/globex")
        assert [table(browser, "Leads delivered")[h] for h in hours] == [
            ["1"], gap, ["0"], ["1"]]
        assert [table(browser, "Dead letters")[h] for h in hours] == [["0"], gap, ["1"], ["0"]]
        assert table(browser, "Webhooks accepted")["hour (UTC)"] == ["globex-form"]
        visit(browser, f"{served.url}/console/routes/acme-form")
        outcomes = table(browser, "Webhooks per hour, by outcome")
        assert outcomes["hour (UTC)"] == ["accepted", "duplicate", "rejected", "ignored"]
        assert [outcomes[h][0] for h in hours] == ["3", "no data", "2", "0"]
        visit(browser, f"{served.url}/console/?span=7d")
        week = table(browser, "Leads delivered per hour")
        assert len(week) == 7 * 24 + 1
        assert week[time.strftime("%m-%d %H:00", time.gmtime(h0))] == ["3", "1"]


PAGES = ("/console/", "/console/?span=7d", "/console/customers/acme", "/console/routes/acme-form",
         "/console/events", "/console/dead", "/console/login")


def test_no_chart_overflows_a_phone_and_every_page_keeps_the_strict_csp(
        browser: Any, config_dict: dict[str, Any], redis_server: Any, redis_client: Any,  # noqa: F811
        megasim: Any) -> None:
    h3 = int(time.time()) // HOUR * HOUR
    clock = Clock(h3 - 3 * HOUR)
    with stack(config_dict, redis_server.url, clock) as (served, drainer):
        play(served, drainer, clock, megasim, h3 - 3 * HOUR)
        for path in PAGES:
            assert httpx.get(f"{served.url}{path}").headers["content-security-policy"] == CSP
        sign_in(browser, served)
        browser.set_window_size(390, 844)
        try:
            for path in PAGES[:4]:
                visit(browser, f"{served.url}{path}")          # a clean log: no CSP refusal
                width = browser.execute_script("return document.documentElement.clientWidth")
                boxes = browser.execute_script(
                    "return [...document.querySelectorAll('svg.chart, .chart-box')].map(e => {"
                    " const r = e.getBoundingClientRect(); return [r.left, r.right, r.width]; })")
                assert boxes, path
                assert all(0 <= left and right <= width and w > 200
                           for left, right, w in boxes), (path, boxes, width)
                wide = browser.execute_script(
                    "return [...document.querySelectorAll('body *')].filter("
                    " e => e.getBoundingClientRect().right > arguments[0]).map("
                    " e => e.tagName + '.' + e.className).slice(0, 8)", width)
                assert browser.execute_script(
                    "return document.documentElement.scrollWidth") <= width, (path, wide)
        finally:
            browser.set_window_size(1200, 900)
        for path in PAGES[4:]:
            visit(browser, f"{served.url}{path}")
        if SHOTS:                                  # the docs' picture of the charts
            picture(browser, served)


def picture(driver: Any, served: Served) -> None:
    """The overview's charts, saved as console-charts.png in LEADGATE_SCREENSHOTS."""
    driver.set_window_size(1200, 1400)
    try:
        visit(driver, f"{served.url}/console/")
        charts = driver.find_element("css selector", "section.trends")
        driver.execute_script("arguments[0].scrollIntoView()", charts)
        charts.screenshot(str(Path(SHOTS) / "console-charts.png"))
    finally:
        driver.set_window_size(1200, 900)
