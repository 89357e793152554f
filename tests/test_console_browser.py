"""The console in a real headless Chromium (the OS's chromium and chromium-driver).

Skipped, with the reason, where no browser is installed; `.ci/run` installs one and sets
LEADGATE_REQUIRE_BROWSER=1, which turns that skip into a failure.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from werkzeug.serving import make_server

from gateway.web.app import create_app
from gateway.web.context import app_context
from tests.conftest import URL_TOKEN, Sim

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--window-size=1200,900", "--hide-scrollbars")
SHOTS = os.environ.get("LEADGATE_SCREENSHOTS", "")    # a folder: save the docs' pictures


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    missing = [str(p) for p in (CHROMIUM, DRIVER) if not p.exists()]
    if missing:
        why = f"no browser for the console tests: {', '.join(missing)} missing " \
              "(apt-get install chromium chromium-driver)"
        if os.environ.get("LEADGATE_REQUIRE_BROWSER"):
            pytest.fail(why)
        pytest.skip(why)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"       # Selenium Manager must never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    profile = tmp_path_factory.mktemp("chromium-profile")
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(executable_path=str(DRIVER)), options=options)
    driver.implicitly_wait(5)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@dataclass
class Served:
    url: str
    app: Any

    def counted(self) -> None:
        """The app's counts in Redis now (its own thread adds them a second later)."""
        app_context(self.app).store.metrics.flush()


@pytest.fixture
def served(config: Any) -> Iterator[Served]:
    """The web app on a real port."""
    app = create_app(config)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Served(f"http://127.0.0.1:{server.server_port}", app)
    server.shutdown()
    thread.join()
    app_context(app).close()


def shot(driver: Any, name: str, *, phone: bool = False) -> None:
    """With LEADGATE_SCREENSHOTS set, save the page (also at a phone's width) for the docs."""
    if not SHOTS:
        return
    driver.save_screenshot(str(Path(SHOTS) / f"console-{name}.png"))
    if phone:
        driver.set_window_size(390, 844)
        driver.save_screenshot(str(Path(SHOTS) / f"console-{name}-phone.png"))
        driver.set_window_size(1200, 900)


def test_sign_in_search_timeline_and_replay_a_dead_letter(
        browser: Any, served: Served, megasim: Sim, drain: Any) -> None:
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 10, ignored_exceptions=(StaleElementReferenceException,))
    hook = f"{served.url}/hooks/acme-form/{URL_TOKEN}"
    megasim.faults(reject_containing="Jane Roe")          # MEGA refuses this lead: dead letter
    dead = httpx.post(hook, json={"name": "Jane Roe", "email": "Jane.Roe@Example.com",
                                  "phone": "(206) 555-0100"}).json()["events"][0]
    httpx.post(hook, json={"name": "Ada Lovelace", "email": "ada@example.com"})
    drain()
    assert [lead["contact_name"] for lead in megasim.leads()] == ["Ada Lovelace"]
    megasim.faults(reject_containing="")

    browser.delete_all_cookies()
    served.counted()                           # the overview counts the two webhooks
    browser.get(f"{served.url}/console/")
    shot(browser, "login")
    browser.find_element(By.NAME, "token").send_keys("test-admin-token-0123456789abcdef")
    browser.find_element(By.CSS_SELECTOR, "form.login button").click()
    wait.until(ec.presence_of_element_located((By.ID, "overview")))
    assert "acme" in browser.find_element(By.ID, "overview").text
    shot(browser, "overview", phone=True)

    accepted = (By.XPATH, "//a[text()='acme-form']/ancestor::tr/td[3]")
    assert browser.find_element(*accepted).text == "2"
    browser.execute_script("window.notReloaded = true")
    httpx.post(hook, json={"name": "Grace Hopper"})
    wait.until(lambda d: d.find_element(*accepted).text == "3")      # htmx polled it in
    assert browser.execute_script("return window.notReloaded") is True
    drain()

    search = browser.find_element(By.CSS_SELECTOR, "header .search input[name=q]")
    search.send_keys("JANE.roe@example.COM\n")
    links = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "a.event-link"))
    assert len(links) == 1 and "j***@example.com" in browser.page_source
    assert "example" not in browser.current_url.lower()     # the URL holds digests only
    assert "jane.roe@example.com" not in browser.page_source
    shot(browser, "events")
    links[0].click()

    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "ol.timeline")))
    assert dead in browser.find_element(By.TAG_NAME, "h1").text
    timeline = browser.find_element(By.CSS_SELECTOR, "ol.timeline").text
    assert "received" in timeline and "MEGA 400" in timeline and "dead letter" in timeline
    shot(browser, "event")
    browser.find_element(By.CSS_SELECTOR, "button.reveal").click()
    wait.until(lambda d: "jane.roe@example.com" in d.find_element(By.ID, "contact").text)

    browser.find_element(By.XPATH, "//button[text()='Replay…']").click()
    confirm = wait.until(ec.presence_of_element_located((By.ID, "confirm")))
    page = browser.find_element(By.TAG_NAME, "main").text
    assert "Replay 1 dead letter?" in page and f"lg-{dead[4:]}-r1: MEGA refused it" in page
    confirm.click()
    assert wait.until(ec.presence_of_element_located((By.ID, "done"))).text == "Replayed 1 of 1"
    drain()
    assert sorted(lead["contact_name"] for lead in megasim.leads()) == [
        "Ada Lovelace", "Grace Hopper", "Jane Roe"]
    sent = [r for r in megasim.requests() if r.get("idempotency_key") == f"lg-{dead[4:]}-r1"]
    assert [r["status"] for r in sent] == ["201"]      # refused, so judged again under a new key
