"""`hubspot`: contact creation from the Webhooks API and the workflow "Send a webhook" action.

Both are signed with `X-HubSpot-Signature-v3`: the base64 HMAC-SHA256, keyed by the app's
client secret, of method + URL + body + `X-HubSpot-Request-Timestamp` (milliseconds, within
HUBSPOT_TOLERANCE_S either way). The URL is the one HubSpot called, so a route names it
(`public_url`): a proxy changes what leadgate sees. A workflow webhook may authenticate by the
route's URL token instead ("API key" in HubSpot's action). A Webhooks API event names a contact
by id only: the worker reads it from HubSpot's CRM API with the route's private app token
(gateway/domain/sources/crm/hubspot_contacts.py), as Meta's leads are read from Graph.
The contact's id is the event id, so both paths and HubSpot's retries are one lead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from marshmallow import ValidationError, fields, validate, validates_schema

from gateway import defaults
from gateway.domain.sources.base import (
    Draft,
    Inbound,
    Sample,
    Source,
    sample_contact,
)
from gateway.domain.sources.providers.crm.hubspot_contacts import (
    HubSpotContacts,
    contact_draft,
    enriched_draft,
)
from gateway.domain.sources.settings import RouteSchema, RouteSettings
from gateway.domain.sources.shape import scalar
from gateway.domain.sources.signatures import (
    check_timestamp,
    digest,
    matches_any,
    parse_json,
    parse_stamp,
    require_header,
)
from gateway.errors import BadRequest, Ignored, Unauthorized

API_URL = "https://api.hubapi.com"
SIGNATURE, STAMP = "X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp"
CREATIONS = {"contact.creation"}
CONTACT_OBJECT = "0-1"          # objectTypeId of contacts in generic object.creation events
# the characters HubSpot decodes in the URI before signing it (its request validation guide)
URI_DECODED = ("%3A", "%2F", "%3F", "%40", "%21", "%24", "%27", "%28", "%29", "%2A", "%2C",
               "%3B")
EVENT_FIELDS = ("portalId", "occurredAt", "changeSource", "subscriptionType", "sourceId")
MAX_EVENTS = 100


class HubSpotSchema(RouteSchema):
    """The schema of HubSpotSettings: a client secret (with the public URL) or a URL token."""

    client_secret = fields.String(validate=validate.Length(min=8))
    public_url = fields.URL(require_tld=False, schemes={"http", "https"})
    access_token = fields.String(validate=validate.Length(min=8))     # the CRM API read
    api_url = fields.URL(load_default=API_URL, require_tld=False, schemes={"http", "https"})
    tolerance_s = fields.Integer(load_default=defaults.HUBSPOT_TOLERANCE_S,
                                 validate=validate.Range(1, 3600))

    @validates_schema
    def _authenticated(self, data: dict[str, Any], **_: Any) -> None:
        if not data.get("client_secret") and not data.get("url_token"):
            raise ValidationError("a hubspot route needs client_secret or url_token",
                                  "client_secret")
        if data.get("client_secret") and not data.get("public_url"):
            raise ValidationError("the URL HubSpot calls (the signature covers it)",
                                  "public_url")


@dataclass(frozen=True, kw_only=True)
class HubSpotSettings(RouteSettings):
    """A HubSpot route's app secret, public URL and CRM access token."""

    client_secret: str = ""               # '': workflow webhooks by URL token only
    public_url: str = ""                  # the URL HubSpot calls (set with client_secret)
    access_token: str = ""                # '': created contacts cannot be read
    api_url: str = API_URL
    tolerance_s: int = defaults.HUBSPOT_TOLERANCE_S


class HubSpot(Source[HubSpotSettings]):
    """HubSpot's contact creations (read from its CRM API) and workflow webhooks."""

    name = "hubspot"
    settings_schema = HubSpotSchema
    settings_type = HubSpotSettings
    lead_defaults = {"source_type": "form", "source_platform": "hubspot"}
    success_status = 200

    def sign(self, settings: HubSpotSettings, body: bytes, *, stamp: str = "",
             msg_id: str = "") -> dict[str, str]:
        """HubSpot's v3 signature of a POST of body to the route's public URL at stamp (ms)."""
        if not settings.client_secret:
            return {}
        uri = signed_uri(settings.public_url)
        message = b"POST" + uri.encode() + body + stamp.encode()
        return {SIGNATURE: digest(settings.client_secret, message, encoding="base64"),
                STAMP: stamp}

    def authenticate(self, inbound: Inbound, settings: HubSpotSettings) -> None:
        """Check X-HubSpot-Signature-v3 and its timestamp; a route with a URL token (checked by
        the intake) also takes unsigned workflow webhooks."""
        if not inbound.headers.get(SIGNATURE) and settings.url_token:
            return
        if not settings.client_secret:
            raise Unauthorized("a signed delivery, and this route has no client_secret")
        given = require_header(inbound.headers, SIGNATURE)
        stamp = require_header(inbound.headers, STAMP)
        millis = parse_stamp(stamp, STAMP, "milliseconds")
        check_timestamp(millis / 1000, inbound.now, settings.tolerance_s, STAMP)
        expected = self.sign(settings, inbound.body, stamp=stamp)[SIGNATURE]
        if not matches_any(expected, [given]):
            raise Unauthorized(f"{SIGNATURE} does not match the request")

    def parse(self, inbound: Inbound, settings: HubSpotSettings) -> list[Draft]:
        """Webhooks API events (a list): contacts to read; a workflow webhook (an object): the
        contact it carries."""
        body = parse_json(inbound.body)
        if isinstance(body, list):
            return created_contacts(body, settings)
        if isinstance(body, dict):
            return [contact_draft(body)]
        raise BadRequest("not a HubSpot webhook: neither a list of events nor a contact")

    def sample(self, settings: HubSpotSettings, now: float, tag: str) -> Sample:
        """A Webhooks API contact creation when the route reads contacts, else a workflow
        "Send a webhook" delivery with every contact property; signed when the route signs."""
        contact = 51_000 + int(tag or "1", 16) % 10**9
        body = json.dumps(contact_event(tag, now, contact) if settings.access_token
                          else workflow_sample(tag, now)).encode()
        return Sample(body, {"Content-Type": "application/json",
                             **self.sign(settings, body, stamp=str(int(now * 1000)))})


def signed_uri(url: str) -> str:
    """The URI as HubSpot signs it: the characters its guide names decoded."""
    for code in URI_DECODED:
        url = url.replace(code, unquote(code)).replace(code.lower(), unquote(code))
    return url


def created_contacts(events: list[Any], settings: HubSpotSettings) -> list[Draft]:
    """Each contact creation among the events: a draft the worker completes from the CRM API."""
    if len(events) > MAX_EVENTS or not all(isinstance(e, dict) for e in events):
        raise BadRequest(f"a HubSpot delivery is a list of up to {MAX_EVENTS} event objects")
    drafts: dict[str, Draft] = {}
    for event in events:
        kind = scalar(event, "subscriptionType", "subscriptionType")
        if kind not in CREATIONS and not (kind == "object.creation" and str(
                scalar(event, "objectTypeId", "objectTypeId")) == CONTACT_OBJECT):
            continue
        contact_id = scalar(event, "objectId", "objectId")
        if contact_id in (None, "") or isinstance(contact_id, bool):
            raise BadRequest("a contact creation event without objectId")
        known = {k: event[k] for k in EVENT_FIELDS if event.get(k) not in (None, "")}
        drafts.setdefault(str(contact_id), Draft(event_id=str(contact_id), fields=known,
                                                 enrich="hubspot"))
    if not drafts:
        raise Ignored("no contact creation among these HubSpot events")
    if not settings.access_token:
        raise BadRequest("this hubspot route has no access_token to read the created contacts")
    return list(drafts.values())


def contact_event(tag: str, now: float, contact_id: int) -> list[dict[str, Any]]:
    """A Webhooks API contact.creation delivery as HubSpot sends it."""
    return [{"eventId": 3_800_000_000 + int(tag or "1", 16) % 10**8, "subscriptionId": 2_410_021,
             "portalId": 62515, "appId": 54321, "occurredAt": int(now * 1000),
             "subscriptionType": "contact.creation", "attemptNumber": 0,
             "objectId": contact_id, "changeFlag": "CREATED", "changeSource": "CRM",
             "sourceId": "userId:1234567"}]


def workflow_sample(tag: str, now: float) -> dict[str, Any]:
    """A contact workflow's "Send a webhook" body with all contact properties."""
    who = sample_contact(tag)
    vid = 51_000 + int(tag or "1", 16) % 10**9 + 1
    props = {"firstname": who["first"], "lastname": who["last"], "email": who["email"],
             "phone": who["phone"], "hs_object_id": str(vid), "lifecyclestage": "lead",
             "hs_analytics_source": "ORGANIC_SEARCH", "createdate": str(int(now * 1000))}
    return {"vid": vid, "canonical-vid": vid, "portal-id": 62515, "is-contact": True,
            "properties": {name: {"value": value, "versions": [{
                "value": value, "source-type": "FORM", "timestamp": int(now * 1000)}]}
                for name, value in props.items()}}


HubSpot.enrichment = HubSpotContacts(enriched_draft, HubSpot.lead_defaults)
