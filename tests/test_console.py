"""The console over HTTP: sign-in, CSRF, session expiry, off without a token, search, filters."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from typing import Any

import pytest
import redis

from gateway.domain.records import unpacked
from gateway.web.app import create_app
from gateway.web.context import app_context
from tests.conftest import URL_TOKEN, build

FORM_URL = f"/hooks/acme-form/{URL_TOKEN}"
GLOBEX_URL = f"/hooks/globex-form/{URL_TOKEN}"

ADMIN_TOKEN = "test-admin-token-0123456789abcdef"


class Clock:
    """The console's clock, moved by the tests; it starts at the real time, which the worker
    (draining with the real clock) shares."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def csrf(page: bytes) -> str:
    found = re.search(rb'name="csrf" value="([^"]+)"', page)
    assert found, page[:500]
    return found.group(1).decode()


def sign_in(client: Any, token: str = ADMIN_TOKEN) -> Any:
    form = client.get("/console/login")
    return client.post("/console/login", data={"token": token, "csrf": csrf(form.data)})


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def console(config: Any, clock: Clock) -> Any:
    client = create_app(config, clock=clock).test_client()
    assert sign_in(client).status_code == 302
    return client


def test_sign_in_gives_a_strict_httponly_session_cookie(config: Any) -> None:
    client = create_app(config).test_client()
    assert client.get("/console/").status_code == 302          # to the sign-in page
    response = sign_in(client)
    assert response.status_code == 302 and response.location.endswith("/console/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie
    assert "Expires=" in cookie and "Secure" not in cookie
    assert ADMIN_TOKEN not in cookie
    assert client.get("/console/").status_code == 200


def behind(config_dict: dict[str, Any], redis_server: Any, proxies: int,
           peer: str = "127.0.0.1") -> Any:
    """A console client at `peer`, with that many trusted proxies in front of the app."""
    config_dict["server"]["trusted_proxies"] = proxies
    app = create_app(build(config_dict, redis_server.url))
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = peer
    return client


@pytest.mark.parametrize(("proxies", "secure"), [(1, True), (0, False)])
def test_the_cookie_is_secure_behind_a_trusted_https_proxy(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        proxies: int, secure: bool) -> None:
    client = behind(config_dict, redis_server, proxies)
    form = client.get("/console/login")
    response = client.post("/console/login", headers={"X-Forwarded-Proto": "https"},
                           data={"token": ADMIN_TOKEN, "csrf": csrf(form.data)})
    assert ("Secure" in response.headers["Set-Cookie"]) is secure   # 0: a client's own header


def test_a_wrong_token_is_refused_logged_without_it_and_rate_limited(
        config: Any, caplog: pytest.LogCaptureFixture) -> None:
    client = create_app(config).test_client()
    for _ in range(10):
        assert sign_in(client, "guess-123456").status_code == 401
    assert sign_in(client, ADMIN_TOKEN).status_code == 429   # even the right one, for now
    assert "guess-123456" not in caplog.text and "sign-in failed" in caplog.text
    assert client.get("/console/").status_code == 302


def test_concurrent_wrong_tokens_get_at_most_the_limits_number_of_401s(config: Any) -> None:
    """40 wrong tokens at once, over real HTTP to a threaded server: each attempt is counted
    before its token is compared, so no more than SIGNIN_MAX_FAILURES are compared at all."""
    import threading
    from collections import Counter

    import httpx
    from werkzeug.serving import make_server

    from gateway import defaults

    server = make_server("127.0.0.1", 0, create_app(config), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/console/login"
    clients = [httpx.Client(timeout=30) for _ in range(40)]
    forms = [csrf(c.get(url).content) for c in clients]
    start, answers = threading.Barrier(40), Counter[int]()

    def attempt(c: httpx.Client, form: str) -> None:
        start.wait()
        answers[c.post(url, data={"token": "guess-123456", "csrf": form}).status_code] += 1

    threads = [threading.Thread(target=attempt, args=pair)
               for pair in zip(clients, forms, strict=True)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.shutdown()
        for c in clients:
            c.close()
    assert answers[401] <= defaults.SIGNIN_MAX_FAILURES, answers
    assert answers[401] + answers[429] == 40, answers


def wrong_tokens(client: Any, forwarded: list[str]) -> list[int]:
    """One wrong sign-in per X-Forwarded-For value; the answers' statuses."""
    form = csrf(client.get("/console/login").data)
    return [client.post("/console/login", headers={"X-Forwarded-For": hop},
                        data={"token": "guess-123456", "csrf": form}).status_code
            for hop in forwarded]


def test_a_client_cannot_dodge_or_aim_the_sign_in_limit_with_x_forwarded_for(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis) -> None:
    direct = behind(config_dict, redis_server, 0, peer="203.0.113.7")
    rotated = [f"198.51.100.{i}" for i in range(12)]
    assert wrong_tokens(direct, rotated) == [401] * 10 + [429] * 2       # no header believed
    attacker = behind(config_dict, redis_server, 0, peer="203.0.113.8")
    assert wrong_tokens(attacker, ["127.0.0.1"] * 10) == [401] * 10
    operator = behind(config_dict, redis_server, 0)                       # at 127.0.0.1
    assert sign_in(operator).status_code == 302                           # not locked out


def test_behind_a_trusted_proxy_the_limit_follows_the_address_it_appended(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis) -> None:
    router = behind(config_dict, redis_server, 1, peer="10.1.2.3")
    spoofed = [f"192.0.2.{i}, 198.51.100.9" for i in range(12)]       # the router appends .9
    assert wrong_tokens(router, spoofed) == [401] * 10 + [429] * 2
    form = csrf(router.get("/console/login").data)
    other = router.post("/console/login", headers={"X-Forwarded-For": "198.51.100.10"},
                        data={"token": ADMIN_TOKEN, "csrf": form})
    assert other.status_code == 302                                    # another client: fine


def test_logged_client_hashes_are_keyed_by_the_server_secret(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis,
        caplog: pytest.LogCaptureFixture) -> None:
    tags = []
    for secret in ("first-secret-key-0123456789abcdef", "other-secret-key-0123456789abcdef"):
        config_dict["server"]["secret_key"] = secret
        client = behind(config_dict, redis_server, 0)
        caplog.clear()
        assert wrong_tokens(client, ["x"]) == [401]
        tags += [r.client for r in caplog.records  # type: ignore[attr-defined]
                 if r.getMessage() == "console sign-in failed"]
    unkeyed = hashlib.sha256(b"127.0.0.1").hexdigest()[:16]
    assert len(tags) == 2 and tags[0] != tags[1] and unkeyed not in tags
    assert {k.decode().rpartition(":")[2] for k in redis_client.scan_iter(
        "leadgate:signin-failures:*")} == set(tags)


def test_a_post_without_the_csrf_token_is_refused(console: Any, redis_client: redis.Redis
                                                  ) -> None:
    eid = console.post(FORM_URL, json={"name": "Ada", "email": "ada@example.com"}
                       ).get_json()["events"][0]
    assert console.post(f"/console/events/{eid}/reveal").status_code == 403
    assert console.post(f"/console/events/{eid}/reveal",
                        headers={"X-CSRF-Token": "forged"}).status_code == 403
    token = csrf(console.get("/console/events").data)
    answer = console.post(f"/console/events/{eid}/reveal", headers={"X-CSRF-Token": token})
    assert answer.status_code == 200 and b"ada@example.com" in answer.data


def test_the_sign_in_form_itself_needs_the_csrf_token(config: Any) -> None:
    client = create_app(config).test_client()
    client.get("/console/login")
    assert client.post("/console/login", data={"token": ADMIN_TOKEN}).status_code == 403


def test_the_session_expires(console: Any, clock: Clock) -> None:
    assert console.get("/console/events").status_code == 200
    clock.now += 8 * 3600 + 1
    assert console.get("/console/events").status_code == 302
    poll = console.get("/console/overview", headers={"HX-Request": "true"})
    assert poll.status_code == 401 and poll.headers["HX-Redirect"] == "/console/login"


def test_sign_out_revokes_the_session_even_for_a_copy_of_its_cookie(
        console: Any, redis_client: redis.Redis) -> None:
    copied = console.get_cookie("leadgate_console", path="/console").value
    [record] = redis_client.scan_iter("leadgate:console-session:*")
    assert 0 < redis_client.ttl(record) <= 8 * 3600
    assert copied.split(".")[0] not in record.decode()       # named by a digest, not the id
    token = csrf(console.get("/console/events").data)
    assert console.post("/console/logout", data={"csrf": token}).status_code == 302
    assert not redis_client.exists(record)
    thief = console.application.test_client()
    thief.set_cookie("leadgate_console", copied, path="/console")
    assert thief.get("/console/events").status_code == 302      # to the sign-in page
    assert thief.post("/console/search", data={"q": "x"}).status_code == 401


def test_the_cookie_holds_no_searched_contact(console: Any, redis_client: redis.Redis) -> None:
    console.post(FORM_URL, json={"email": "kim.searched@example.com"})
    assert b"kim.searched@example.com" in search(console, "kim.searched@example.com")
    cookie = console.get_cookie("leadgate_console", path="/console").value
    app = console.application
    held = app.session_interface.get_signing_serializer(app).loads(cookie)
    assert set(held) == {"_permanent", "sid", "csrf"}, held
    assert "kim" not in json.dumps(held)
    names = b" ".join(redis_client.scan_iter("*"))
    assert b"kim" not in names and b"searched" not in names


@pytest.mark.parametrize("path", ["/console/login", "/console/", "/console/events",
                                  "/console/events/evt_nope", "/console/dead"])
def test_every_console_page_is_never_cached_framed_or_sniffed(console: Any, path: str) -> None:
    answer = console.get(path)
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Content-Security-Policy"] == "frame-ancestors 'none'"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("cursor", ["²:x", "1²:evt_1", "12:evt_1\n", "١٢:evt_1", "x", ":1",
                                    "1:evt-1", "1" * 17])
def test_a_cursor_no_page_gave_is_a_400_page_in_plain_words(console: Any, cursor: str) -> None:
    answer = console.get("/console/events", query_string={"cursor": cursor})
    page = answer.data.decode()
    assert answer.status_code == 400 and answer.mimetype == "text/html"
    assert "This link to older events is broken" in page and "cursor" not in page.lower()
    assert 'href="/console/events"' in page             # the way back: the newest events


@pytest.mark.parametrize(("path", "status", "words"), [
    ("/console/events/evt_nope", 404, "There is no event evt_nope"),
    ("/console/nosuch/page", 404, "There is no console page at /console/nosuch/page"),
    ("/console/dead/nosuch", 404, "There is no console page at /console/dead/nosuch")])
def test_console_errors_are_pages_in_its_layout_with_a_way_back(
        console: Any, path: str, status: int, words: str) -> None:
    answer = console.get(path, headers={"Referer": "http://localhost/console/events?status=dead"})
    page = answer.data.decode()
    assert answer.status_code == status and answer.mimetype == "text/html"
    assert words in page and '<nav>' in page and 'console.css' in page
    assert 'href="/console/events?status=dead" id="back"' in page
    assert answer.headers["Cache-Control"] == "no-store"


def test_the_api_stays_json_where_the_console_answers_pages(console: Any) -> None:
    answer = console.get("/v1/events/evt_nope", headers={
        "Authorization": f"Bearer {ADMIN_TOKEN}"})
    assert answer.status_code == 404 and answer.get_json()["error"]["message"] == \
        "no event evt_nope"
    assert console.get("/nosuch").get_json()["error"]["code"] == 404


def test_redis_unavailable_is_a_503_page(config_dict: dict[str, Any], tmp_path: Any) -> None:
    from bench.harness import free_port
    from gateway.local.redis_server import RedisServer

    server = RedisServer(tmp_path, port=free_port(), persistent=False)
    server.start()
    try:
        client = create_app(build(config_dict, server.url)).test_client()
        assert sign_in(client).status_code == 302
    finally:
        server.stop()
    for path in ("/console/", "/console/events", "/console/events/evt_1", "/console/dead"):
        answer = client.get(path)
        page = answer.data.decode()
        assert answer.status_code == 503 and answer.mimetype == "text/html", path
        assert "Redis is unavailable" in page and "check REDIS_URL" in page
        assert 'href="/console/"' in page
    assert client.get("/v1/customers", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
                      ).get_json()["error"]["code"] == 503


def test_the_console_is_off_without_an_admin_token(config_dict: dict[str, Any],
                                                   redis_server: Any) -> None:
    config_dict["server"]["admin_token"] = ""
    client = create_app(build(config_dict, redis_server.url)).test_client()
    for path in ("/console/", "/console/login", "/console/events"):
        assert client.get(path).status_code == 404
    assert client.post("/console/login", data={"token": ""}).status_code == 404


def test_contacts_are_masked_until_revealed_and_each_reveal_is_logged(
        console: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "leadgate.console")
    eid = console.post(FORM_URL, json={"name": "Jane Roe", "email": "jane@example.com",
                                       "phone": "(206) 555-0100"}).get_json()["events"][0]
    page = console.get(f"/console/events/{eid}").data
    assert b"j***@example.com" in page and b"+1 ***-***-0100" in page
    assert b"jane@example.com" not in page and b"2065550100" not in page
    console.post(f"/console/events/{eid}/reveal", headers={"X-CSRF-Token": csrf(page)})
    lines = [r for r in caplog.records if r.getMessage() == "console contact revealed"]
    assert lines and lines[0].event_id == eid and lines[0].session   # type: ignore[attr-defined]
    assert "jane@example.com" not in caplog.text


def listed(page: bytes) -> list[str]:
    return re.findall(r'href="/console/events/(evt_[0-9a-f]+)"', page.decode())


def search(client: Any, q: str, **filters: str) -> bytes:
    """Search as the form does: q in a POST, then the events page at the URL it redirects to."""
    token = csrf(client.get("/console/events").data)
    answer = client.post("/console/search", data={"csrf": token, "q": q, **filters})
    if answer.status_code != 302:
        return answer.data                  # 200: q is neither an email nor a phone
    digits = re.sub(r"\D", "", q)[-7:]
    assert "@" not in answer.location and "%40" not in answer.location
    assert not digits or digits not in answer.location
    return client.get(answer.location).data  # type: ignore[no-any-return]


def test_events_filters_and_cursor_paging(console: Any, clock: Clock) -> None:
    acme = []
    for i in range(3):
        clock.now += 1
        acme += console.post(FORM_URL, json={"name": f"A {i}"}).get_json()["events"]
    clock.now += 2 * 86_400
    globex = console.post(GLOBEX_URL, json={"name": "G"}).get_json()["events"][0]
    sign_in(console)                        # two days on, the session has expired
    assert listed(console.get("/console/events").data) == [globex, *reversed(acme)]
    assert listed(console.get("/console/events?customer=globex").data) == [globex]
    assert listed(console.get("/console/events?route=acme-form").data) == acme[::-1]
    assert listed(console.get("/console/events?window=24h").data) == [globex]
    assert listed(console.get("/console/events?status=delivered").data) == []
    assert len(listed(console.get("/console/events?status=pending&source=generic").data)) == 4
    from gateway.web.console import read
    store = app_context(console.application).store
    seen, cursor = [], ""
    while True:
        page, cursor = read.find_events(store, read.Query(cursor=cursor), limit=3)
        seen += [r["id"] for r in page]
        if not cursor:
            break
    assert seen == [globex, *reversed(acme)]


def test_overview_counts_routes_and_customers(config_dict: dict[str, Any], redis_server: Any,
                                              redis_client: redis.Redis,
                                              drain_factory: Any) -> None:
    config_dict["customers"]["ops"] = {**config_dict["customers"]["acme"]}
    config_dict["routes"]["ops-form"] = {"customer": "ops", "source": "generic",
                                         "url_token": URL_TOKEN}   # counted by this test alone
    config = build(config_dict, redis_server.url)
    console = create_app(config).test_client()
    sign_in(console)
    console.post(f"/hooks/ops-form/{URL_TOKEN}", json={"name": "Ada"})
    console.post("/hooks/ops-form/wrong-token-000000000", json={"name": "X"})
    console.post(f"/hooks/ops-form/{URL_TOKEN}", json={"name": "Bob"})
    drainer = drain_factory(config)
    drainer()
    drainer.ctx.store.metrics.flush()       # the worker's counts, now rather than in a second
    page = console.get("/console/overview").data.decode()
    row = re.search(r"ops-form</a></td>(.*?)</tr>", page, re.S).group(1)  # type: ignore
    assert re.findall(r'class="num[^"]*">(\d+)', row) == ["2", "0", "0", "1"]
    customer = re.search(r">ops</a></td>(.*?)</tr>", page, re.S).group(1)  # type: ignore
    assert re.findall(r'class="num">(\d+)', customer) == ["0", "0", "0", "2", "0"]


def test_overview_shows_a_meta_routes_health_and_missed_leads(
        config_dict: dict[str, Any], redis_server: Any, redis_client: redis.Redis) -> None:
    from tests.samples import SETTINGS

    config_dict["routes"]["ops-meta"] = {"customer": "acme", "source": "meta_lead_ads",
                                         **SETTINGS["meta_lead_ads"], "page_id": "1234567"}
    console = create_app(build(config_dict, redis_server.url)).test_client()
    sign_in(console)
    redis_client.hset("leadgate:reconcile:ops-meta", mapping={"seen": 9, "missed": 3,
                                                              "last_run_ms": 1_700_000_000_000})
    redis_client.hset("leadgate:source-health", "ops-meta", json.dumps(
        {"state": "token_expiring", "detail": "", "days_left": 5}))
    page = console.get("/console/overview").data.decode()
    row = re.search(r"ops-meta</a></td>(.*?)</tr>", page, re.S).group(1)  # type: ignore
    assert "token expiring in 5 days" in row and "missed by webhook: 3" in row
    assert "seen: 9" in row
    facts = re.findall(r"<small>([^:<]+):", row)
    assert facts == ["source", "reconciled", "seen", "missed by webhook"]     # each once
    assert row.count("missed by webhook") == 1 and row.count("seen") == 1
    other = re.search(r"acme-form</a></td>(.*?)</tr>", page, re.S).group(1)  # type: ignore
    assert "missed by webhook" not in other


# -- contact search across providers, and no contact in any key name --------------------------
def test_search_by_contact_finds_every_providers_lead_in_any_spelling(
        provider_app: tuple[Any, Any], redis_client: redis.Redis) -> None:
    from tests.samples import SAMPLES, hook, signed

    client, drain = provider_app
    posted = set()
    for source in SAMPLES:
        body, headers = signed(source)
        response = client.post(hook(source), data=body, headers=headers)
        assert response.status_code in (200, 202), (source, response.get_json())
        posted.update(response.get_json()["events"])
    sign_in(client)
    meta = {e for e in posted if redis_client.hget(f"leadgate:event:{e}", "enrich")}
    assert len(meta) == 2                        # Meta's and HubSpot's name their lead only
    before = set(listed(search(client, "ANA@Example.COM")))
    assert before == posted - meta               # their contact comes with the API read
    drain()
    for q in ("ANA@Example.COM", " ana@example.com ", "+1 (415) 555-0123", "415.555.0123",
              "+14155550123"):
        found = set(listed(search(client, q)))
        with_phone = {e for e in posted if "contact_phone" in (
            unpacked(redis_client.hgetall(f"leadgate:event:{e}")).get("lead", ""))}
        assert found == (posted if "@" in q else with_phone), q
        assert meta <= found
    assert listed(search(client, "ana@example.org")) == []
    assert listed(search(client, "4155550124")) == []
    assert b"not an email address or a phone number" in search(client, "ana")
    assert listed(search(client, "ana@example.com", source="typeform")) == [
        e for e in posted
        if unpacked(redis_client.hgetall(f"leadgate:event:{e}"))["source"] == "typeform"]
    names = b" ".join(redis_client.scan_iter("*")).lower()
    digits = re.sub(rb"[^0-9 ]", b"", names)
    for spelling in (b"ana@", b"example", b"rivera", b"%40"):
        assert spelling not in names
    assert b"5550123" not in digits and b"4155550" not in digits


# -- dead letters: replay and purge after a confirmation ---------------------------------------
def make_dead(console: Any, megasim: Any, drain: Any, *names: str, url: str = FORM_URL
              ) -> list[str]:
    megasim.faults(reject_containing="Reject")
    ids = [console.post(url, json={"name": n}).get_json()["events"][0] for n in names]
    drain()
    megasim.faults(reject_containing="")
    return ids


def test_replay_all_matching_asks_first_then_queues_each_once(
        console: Any, megasim: Any, drain: Any, redis_client: redis.Redis) -> None:
    acme = make_dead(console, megasim, drain, "Reject A")
    globex = make_dead(console, megasim, drain, "Reject G", url=GLOBEX_URL)
    token = csrf(console.get("/console/dead").data)
    asked = console.post("/console/dead/replay", data={"csrf": token, "customer": "acme"})
    assert b"Replay 1 dead letter?" in asked.data and acme[0].encode() in asked.data
    assert f"lg-{acme[0][4:]}-r1: MEGA refused it".encode() in asked.data
    assert redis_client.zcard("leadgate:dead") == 2                 # nothing done yet
    make_dead(console, megasim, drain, "Reject B")          # one more matches now
    again = console.post("/console/dead/replay", data={"csrf": token, "customer": "acme",
                                                       "confirm": "yes", "expected": "1"})
    assert b"changed since you asked" in again.data and b"Replay 2 dead letters?" in again.data
    assert redis_client.zcard("leadgate:dead") == 3
    purge_b = {"csrf": token, "id": [i for i in redis_client.zrange("leadgate:dead", 0, -1)
                                     if i.decode() not in acme + globex][0].decode()}
    console.post("/console/dead/purge", data={**purge_b, "confirm": "yes", "expected": "1"})
    done = console.post("/console/dead/replay", data={"csrf": token, "customer": "acme",
                                                      "confirm": "yes", "expected": "1"})
    assert b"Replayed 1 of 1" in done.data
    drain()
    assert [lead["contact_name"] for lead in megasim.leads()] == ["Reject A"]
    assert redis_client.zrange("leadgate:dead", 0, -1) == [globex[0].encode()]
    timeline = console.get(f"/console/events/{acme[0]}").data.decode()
    assert "replayed" in timeline and "delivered" in timeline and "MEGA 400" in timeline


def test_purge_asks_first_then_deletes(console: Any, megasim: Any, drain: Any,
                                       redis_client: redis.Redis) -> None:
    ids = make_dead(console, megasim, drain, "Reject A", "Reject B")
    token = csrf(console.get("/console/dead").data)
    asked = console.post("/console/dead/purge", data={"csrf": token, "id": ids[0]})
    assert b"Purge 1 dead letter?" in asked.data and redis_client.zcard("leadgate:dead") == 2
    console.post("/console/dead/purge", data={"csrf": token, "id": ids[0], "confirm": "yes",
                                              "expected": "1"})
    assert redis_client.zrange("leadgate:dead", 0, -1) == [ids[1].encode()]
    assert console.get(f"/console/events/{ids[0]}").status_code == 404


def test_the_index_expires_with_the_events(console: Any, clock: Clock,
                                           redis_client: redis.Redis) -> None:
    first = console.post(FORM_URL, json={"email": "kim@example.com"}).get_json()["events"][0]
    (bucket,) = redis_client.scan_iter("leadgate:contacts:*")
    keep_s = 7 * 86_400 + 72 * 3600                    # dedup_ttl_days + max_age_hours
    assert 0 < redis_client.ttl(bucket) <= keep_s + 86_400     # from the end of its day
    clock.now += keep_s + 86_400
    second = console.post(FORM_URL, json={"email": "KIM@example.com"}).get_json()["events"][0]
    assert redis_client.zrange("leadgate:events", 0, -1) == [second.encode()]
    assert sign_in(console).status_code == 302
    assert set(listed(search(console, "kim@example.com"))) == {second} != {first}


def test_a_search_says_when_a_contact_had_more_events_in_a_day_than_it_is_found_by(
        console: Any, config: Any, clock: Clock, redis_client: redis.Redis) -> None:
    from gateway import defaults
    from gateway.domain.leads import draft_event
    from gateway.domain.sources import SOURCES
    from gateway.domain.sources.base import Draft
    from gateway.store.index import Index
    from gateway.store.store import Store

    store, route = Store(redis_client, index=Index.from_config(config)), config.routes["acme-form"]
    limit = defaults.CONTACT_DAY_LIMIT
    records = [draft_event(route, SOURCES["generic"], Draft(
        event_id=f"bot-{i}", lead={"contact_email": "bot@example.com"}, fields={},
        used=set()), clock.now - 60 + i / 1000).to_fields() for i in range(limit + 2)]
    for at in range(0, len(records), 200):
        store.ingest(config.customers["acme"], records[at:at + 200], 86_400)
    page = search(console, "bot@example.com").decode()
    day = time.strftime("%Y-%m-%d", time.gmtime(clock.now - 60))
    assert f"More than {limit:,} events of this contact on {day}: showing the first " \
           f"{limit:,} of that day. The 2 after them" in page
    assert records[-1]["id"] not in page and records[limit - 1]["id"] in page
    assert "More than" not in search(console, "ada@example.com").decode()
