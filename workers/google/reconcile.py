"""Reconciliation of Google lead-form routes: list the account's submissions through the Google
Ads API and deliver, `via: reconcile`, those no stored webhook lead matches.

A listed submission is a webhook lead already stored when its id is a stored event's (rule
"id"), else by form + gclid + time, else by form + keyed contact digest + time (match.py). The
route's run (one lock across workers, one watermark, a backoff on failure) mirrors Meta's
(workers/reconcile.py), whose generic parts it shares.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from gateway import defaults
from gateway.config import Config, Route
from gateway.errors import GoogleAdsError, NoUsableLead
from gateway.google_match import GoogleMatchIndex, contact_digests
from gateway.keys import LOCK_RELEASE, LOCK_RENEW, LOCKED_HSET
from gateway.leads import draft_event
from gateway.sources import SOURCES
from gateway.sources.google import reconciles
from gateway.store import Store, now_ms
from workers.google.ads import Credentials, GoogleAds
from workers.google.match import listed, match, submission_draft
from workers.reconcile import LostLock, Tally, retry_in_s

log = logging.getLogger("leadgate.reconcile.google")
SOURCE = "google_lead_forms"


@dataclass
class Found:
    """One listing: the tally, and how often each matching rule said "seen"."""

    tally: Tally = field(default_factory=Tally)
    rules: Counter[str] = field(default_factory=Counter)


def google_routes(config: Config) -> list[Route]:
    return [r for r in config.routes.values() if r.source == SOURCE and reconciles(r.settings)]


def reconcile_window(ads: GoogleAds, store: Store, config: Config, route: Route, *,
                     since: float, until: float, now: float, via: str = "reconcile",
                     dry_run: bool = False,
                     before_page: Callable[[], None] = lambda: None) -> Found:
    """Every submission in [since, until]: matched ones counted by rule, the rest stored (or,
    dry, only counted) as leads the webhook missed. `before_page` runs before each page is
    asked for (a run renews its lock there)."""
    found = Found()
    forms = tuple(route.settings.get("forms") or ())
    pages = ads.submissions(Credentials.of(route.settings), since=since, until=until,
                            forms=forms)
    while before_page() is None and (page := next(pages, None)) is not None:
        missed = [rec for sub in page if (rec := unmatched(store, route, sub, found, now))]
        found.tally.seen += len(page)
        found.tally.failed += sum(1 for sub in page if not sub.get("id"))
        added = [True] * len(missed) if dry_run or not missed else store.ingest(
            config.customers[route.customer], [{**r, "via": via} for r in missed],
            config.dedup_ttl_s)
        found.tally.new += sum(added)
        if late := len(added) - sum(added):                 # stored meanwhile by its webhook
            found.rules["id"] += late
    found.tally.known = sum(found.rules.values())
    return found


def unmatched(store: Store, route: Route, submission: dict[str, Any], found: Found,
              now: float) -> dict[str, str] | None:
    """The event record of a submission no stored webhook lead matches, else None (counted)."""
    if not submission.get("id"):
        return None
    draft = submission_draft(submission, route.settings)
    try:
        rec = draft_event(route, SOURCES[SOURCE], draft, now).to_fields()
    except NoUsableLead:
        found.tally.failed += 1
        return None
    region = route.settings["default_region"]
    item = listed(submission, draft, lambda lead: contact_digests(store.index, lead, region)
                  if store.index else ())
    by_gclid, by_contact = GoogleMatchIndex(store.redis, store.keys).candidates(
        route.name, gclid=item.gclid, contacts=item.digests, at=item.submitted)
    hit = match(item, id_stored=store.stored([rec["id"]])[0],
                by_gclid=by_gclid, by_contact=by_contact)
    if hit:
        found.rules[hit.rule] += 1
        return None
    return rec


def backfill_refusal(since: float, now: float) -> str:
    """Why a backfill from `since` is refused ('' when it is not): the Ads API keeps lead form
    submissions for a limited time (Google's help says up to 60 days; leadgate plans for 30)."""
    days = defaults.GOOGLE_RETENTION_DAYS
    if since < now - days * 86400:
        return (f"--since is more than {days} days ago: the Google Ads API keeps lead form "
                f"submissions for a limited time, so an older listing would look complete "
                f"and not be; use Google's CSV download for older leads")
    return ""


def google_backfill(ads: GoogleAds, store: Store, config: Config, route: Route, *,
                    since: float, until: float, dry_run: bool, now: float) -> Found:
    """The reconciliation's listing over [since, until], on demand, `via: backfill`."""
    if (why := backfill_refusal(since, now)):
        raise ValueError(why)
    return reconcile_window(ads, store, config, route, since=since, until=until, now=now,
                            via="backfill", dry_run=dry_run)


class GoogleReconciler:
    """Runs due Google reconciliations; one instance per worker thread (it owns its client)."""

    def __init__(self, config: Config, store: Store, *, clock: Callable[[], float] = time.time,
                 ads: GoogleAds | None = None):
        self.config, self.store, self.clock = config, store, clock
        self.ads = ads or GoogleAds(timeout_s=config.mega["timeout_s"])
        self._release = store.redis.register_script(LOCK_RELEASE)
        self._renew = store.redis.register_script(LOCK_RENEW)
        self._locked_hset = store.redis.register_script(LOCKED_HSET)

    def run(self, route: Route) -> Found | None:
        """One reconciliation, or None when another worker runs it or it failed (recorded)."""
        token, lock = uuid.uuid4().hex, self.store.keys.reconcile_lock(route.name)
        if not self.store.redis.set(lock, token, nx=True,
                                    px=int(defaults.RECONCILE_LOCK_S * 1000)):
            return None
        try:
            return self.locked_run(route, token)
        finally:
            self._release(keys=[lock], args=[token])

    def locked_run(self, route: Route, token: str) -> Found | None:
        """From the watermark minus the overlap to now minus the grace; counts, or a backoff
        (RESOURCE_EXHAUSTED waits Google's retryDelay)."""
        key, started, now = self.store.keys.reconcile(route.name), now_ms(self.clock), \
            self.clock()
        until = int(now) - route.settings["reconcile_grace_s"]
        mark = self.store.redis.hget(key, "wm")
        since = (int(mark) if mark else until) - defaults.RECONCILE_OVERLAP_S
        try:
            found = reconcile_window(self.ads, self.store, self.config, route, since=since,
                                     until=until, now=now,
                                     before_page=lambda: self.renew(route, token))
        except LostLock:
            log.warning("reconciliation of %s: lock lost, left to its new holder", route.name)
            return None
        except GoogleAdsError as exc:
            self.failed(route, exc, started)
            return None
        self.record_run(route, found, started)
        self._locked_hset(keys=[self.store.keys.reconcile_lock(route.name), key],
                          args=[token, "wm", until])
        return found

    def renew(self, route: Route, token: str) -> None:
        """Keep the route's lock for the next page, or stop: another worker holds it now."""
        if not self._renew(keys=[self.store.keys.reconcile_lock(route.name)],
                           args=[token, int(defaults.RECONCILE_LOCK_S * 1000)]):
            raise LostLock(f"the reconciliation lock of {route.name} was lost")

    def failed(self, route: Route, exc: GoogleAdsError, started: int) -> None:
        key = self.store.keys.reconcile(route.name)
        failures = self.store.redis.hincrby(key, "failures", 1)
        wait_s = exc.retry_after_s if exc.retry_after_s is not None else retry_in_s(failures)
        self.store.redis.hset(key, mapping={
            "last_run_ms": started, "last_error": str(exc)[:300], "last_error_kind": exc.kind,
            "next_at_ms": started + int(wait_s * 1000)})
        log.warning("reconciliation of %s failed (%s), retry in %.0fs", route.name, exc.kind,
                    wait_s)

    def record_run(self, route: Route, found: Found, started: int) -> None:
        """Totals by result and by matching rule, for status, the README and alerts."""
        key, every_ms = self.store.keys.reconcile(route.name), \
            route.settings["reconcile_every_min"] * 60_000
        pipe = self.store.redis.pipeline(transaction=False)
        pipe.hset(key, mapping={"last_run_ms": started, "last_ok_ms": started,
                                "last_seen": found.tally.seen, "last_missed": found.tally.new,
                                "failures": 0, "last_error": "", "last_error_kind": "",
                                "next_at_ms": started + every_ms})
        pipe.hincrby(key, "seen", found.tally.seen)
        pipe.hincrby(key, "missed", found.tally.new)
        for rule, n in found.rules.items():
            pipe.hincrby(key, f"matched:{rule}", n)
        pipe.execute()
        self.store.metrics.inc("leadgate_reconcile_leads", found.tally.known, route=route.name,
                               result="known")
        self.store.metrics.inc("leadgate_reconcile_leads", found.tally.new, route=route.name,
                               result="missed")
