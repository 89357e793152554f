"""Google's reconciliation (the capability workers/capabilities.py declares, run by the generic
runner in workers/reconcile.py): the account's lead form submissions through the Google Ads API,
each as the lead its webhook would have made, under the API's id.

Google says the webhook's `lead_id` is unique, not that it equals the API's `id`. So beyond the
event key (rule "id", the runner's), a listed submission is a webhook lead already stored when
the form, the gclid and the time match (rule "gclid"), else the form, a keyed contact digest
and the time (rule "contact"): match.py, against gateway/store/google_match.py's lookup.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from gateway import defaults
from gateway.config import Route
from gateway.domain.sources import SOURCES
from gateway.domain.sources.base import Draft
from gateway.domain.sources.providers.google import GoogleSettings
from gateway.domain.sources.twins import Twin
from gateway.store.google_match import Stored, contact_digests, gclid_digest
from gateway.store.store import Store
from workers.google.ads import Credentials, GoogleAds
from workers.google.match import Listed, listed, match, submission_draft, submitted_at

SOURCE = "google_lead_forms"


class GoogleReconciliation:
    """Lists a Google route's submissions; one instance per thread (it owns its HTTP client)."""

    source = SOURCES[SOURCE]

    def __init__(self, *, timeout_s: float, ads: GoogleAds | None = None):
        self.ads = ads or GoogleAds(timeout_s=timeout_s)

    def close(self) -> None:
        self.ads.close()

    def streams(self, route: Route) -> list[str]:
        """One listing per route, its watermark named after the Ads account."""
        return [GoogleSettings.of(route.settings).ads_customer_id]

    def listing(self, route: Route, stream: str, *, since: int, until: int,
                page_size: int = defaults.RECONCILE_PAGE_SIZE
                ) -> Iterator[list[dict[str, Any]]]:
        """Pages of submissions after `since`, before `until` (the API sets its page size)."""
        return self.ads.submissions(Credentials.of(route.settings), since=since, until=until,
                                    forms=GoogleSettings.of(route.settings).forms)

    def drafts(self, route: Route, item: dict[str, Any]) -> list[Draft]:
        """A submission as its webhook's draft (none without an id)."""
        return [submission_draft(item, GoogleSettings.of(route.settings))] if item.get("id") else []

    def twins(self, store: Store, route: Route, leads: list[tuple[Any, str]], now: float
              ) -> dict[str, Twin]:
        """Listed leads a stored webhook lead matches by gclid or contact; one whose own id is
        stored is left to the event key (rule "id" comes first)."""
        if not leads:
            return {}
        lookup, found = store.google_match, dict[str, Twin]()
        known = store.stored([event_id for _, event_id in leads])
        for (item, event_id), stored in zip(leads, known, strict=True):
            if stored:
                continue
            view = matching_view(store, route, item)
            by_gclid, by_contact = lookup.candidates(route.name, gclid=view.gclid,
                                                     contacts=view.digests, at=view.submitted)
            if hit := match(view, id_stored=False, by_gclid=by_gclid, by_contact=by_contact):
                found[event_id] = Twin(hit.event_id, hit.rule)
        return found

    def remember(self, store: Store, route: Route, leads: list[tuple[Any, str]],
                 now: float) -> None:
        """Keep the leads just stored findable by a webhook that comes later under another
        lead_id (gateway/store/google_match.py's GoogleTwins finds it a duplicate)."""
        if not leads:
            return
        entries = [listed_entry(store, route, item, event_id) for item, event_id in leads]
        store.google_match.remember(route.name, entries, now)

    def created_at(self, item: dict[str, Any]) -> int | None:
        """A submission's submissionDateTime as unix seconds."""
        at = submitted_at(item)
        return None if at is None else int(at)

    def backfill_refusal(self, since: float, now: float) -> str:
        """The Ads API keeps lead form submissions for a limited time (Google's help says up
        to 60 days; leadgate plans for 30): an older listing would look complete and not be."""
        days = defaults.GOOGLE_RETENTION_DAYS
        if since < now - days * 86400:
            return (f"--since is more than {days} days ago: the Google Ads API keeps lead form "
                    f"submissions for a limited time, so an older listing would look complete "
                    f"and not be; use Google's CSV download for older leads")
        return ""


def matching_view(store: Store, route: Route, submission: dict[str, Any]) -> Listed:
    """What matching needs of a submission: its form, gclid, time and keyed contact digests
    (taken from its lead as the webhook's would be, gateway/store/google_match.py)."""
    region = route.settings.default_region
    return listed(submission, submission_draft(submission, GoogleSettings.of(route.settings)),
                  lambda lead: contact_digests(store.index, lead, region) if store.index
                  else ())


def listed_entry(store: Store, route: Route, submission: dict[str, Any], event_id: str
                 ) -> Stored:
    """What the match lookup keeps of a lead reconciliation stored."""
    view = matching_view(store, route, submission)
    return Stored(event_id, view.form_id, view.submitted, gclid_digest(view.gclid),
                  view.digests, listed=True)
