"""The lookup that finds a Google route's webhook leads again for reconciliation, in real Redis:
written from the webhook's draft, found from the API's submission by gclid or contact digest,
trimmed by age, and holding no contact."""

from __future__ import annotations

import json
from typing import Any

import redis

from gateway.domain.sources.base import Inbound
from gateway.domain.sources.providers.google import GoogleLeadForms
from gateway.store.google_match import GoogleMatchIndex, Stored, contact_digests, webhook_entry
from gateway.store.index import CONTACT_PURPOSE, Index, derive
from gateway.store.keys import Keys
from megasim.google import GoogleState
from megasim.google_leads import new_submission, webhook_body
from tests.samples import GOOGLE, hook
from workers.google.match import Match, listed, match, submission_draft

SETTINGS = {"accept_test_leads": False}
DAY = 1_780_000_000
INDEX = Index(Keys(), derive(b"k" * 32, CONTACT_PURPOSE), 86400)


def stored_pair(client: redis.Redis, **change: object) -> tuple[GoogleMatchIndex, dict]:
    """One submission whose webhook (under another lead_id) was taken in and remembered."""
    state = GoogleState()
    state.webhooks.distinct_ids = True
    submission = new_submission(state, "1234567890", "349080077126", DAY, None)
    body = {**webhook_body(submission, "k" * 16), **change}
    draft = GoogleLeadForms().parse(Inbound("POST", {}, {}, json.dumps(body).encode(),
                                            "application/json"), SETTINGS)[0]
    lookup = GoogleMatchIndex(client, Keys())
    lookup.remember("g", [webhook_entry(INDEX, "evt_webhook", draft, "US", DAY + 2)], DAY)
    return lookup, submission


def found(lookup: GoogleMatchIndex, submission: dict) -> Match | None:
    draft = submission_draft(submission, SETTINGS)
    item = listed(submission, draft, lambda lead: contact_digests(INDEX, lead, "US"))
    by_gclid, by_contact = lookup.candidates("g", gclid=item.gclid, contacts=item.digests,
                                             at=item.submitted)
    return match(item, id_stored=False, by_gclid=by_gclid, by_contact=by_contact)


def test_found_by_gclid_then_by_contact(redis_client: redis.Redis) -> None:
    lookup, submission = stored_pair(redis_client)
    assert found(lookup, submission) == Match("gclid", "evt_webhook")
    redis_client.flushdb()
    lookup, submission = stored_pair(redis_client, gcl_id="another-click")
    assert found(lookup, submission) == Match("contact", "evt_webhook")
    redis_client.flushdb()
    lookup, submission = stored_pair(redis_client, gcl_id="another-click", form_id=1)
    assert found(lookup, submission) is None


def test_holds_no_contact_and_trims_old_entries(redis_client: redis.Redis) -> None:
    lookup, submission = stored_pair(redis_client)
    dump = b"".join(k + b"".join(redis_client.zrange(k, 0, -1))
                    for k in redis_client.keys("*"))
    assert b"example.com" not in dump and b"1650555" not in dump and b"Google Lead" not in dump
    assert submission["gclid"].encode() not in dump
    assert redis_client.keys("*") == [b"leadgate:google-match:g"]
    later = DAY + 32 * 86400
    lookup.remember("g", [Stored("evt_2", "349080077126", later - 10)], later)
    members = redis_client.zrange("leadgate:google-match:g", 0, -1)
    assert len(members) == 1 and members[0].startswith(b"evt_2|")
    assert 0 < redis_client.ttl("leadgate:google-match:g") <= 31 * 86400


def test_the_intake_keeps_new_google_webhook_leads_findable(
        provider_app: tuple[Any, Any], redis_client: redis.Redis) -> None:
    client, _ = provider_app
    body = json.dumps(GOOGLE).encode()
    for _ in range(2):                                    # a duplicate adds nothing
        assert client.post(hook("google_lead_forms"), data=body,
                           content_type="application/json").status_code == 200
    members = redis_client.zrange("leadgate:google-match:acme-google_lead_forms", 0, -1,
                                  withscores=True)
    assert len(members) == 1
    member, score = members[0]
    event_id, form_id, gclid, contacts = member.decode().split("|")
    assert event_id.startswith("evt_") and form_id == str(GOOGLE["form_id"])
    assert gclid and gclid != GOOGLE["gcl_id"] and len(contacts.split(",")) == 2
    assert b"example.com" not in member and b"Rivera" not in member


def test_a_webhook_lead_finds_only_the_lead_reconciliation_stored(
        redis_client: redis.Redis) -> None:
    lookup = GoogleMatchIndex(redis_client, Keys())
    listed_one = Stored("evt_listed", "349", DAY, "g1", ("c1",), listed=True)
    webhook_one = Stored("evt_webhook", "349", DAY + 60, "g2", ("c2",))
    lookup.remember("g", [listed_one, webhook_one], DAY)
    assert Stored.parse(listed_one.member, DAY) == listed_one
    assert Stored.parse(webhook_one.member, DAY + 60) == webhook_one
    by_gclid = Stored("evt_late", "349", DAY + 30, "g1", ())
    by_contact = Stored("evt_late", "349", DAY + 30, "", ("x", "c1"))
    assert lookup.listed_twin("g", by_gclid) == listed_one
    assert lookup.listed_twin("g", by_contact) == listed_one
    assert lookup.listed_twin("g", Stored("evt_late", "350", DAY, "g1", ())) is None   # form
    assert lookup.listed_twin("g", Stored("evt_late", "349", DAY + 30, "g2", ())) is None
    assert lookup.listed_twin("g", Stored("evt_late", "349", DAY + 900, "g1", ())) is None
