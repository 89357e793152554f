"""`meta_lead_ads`: Page `leadgen` webhooks carry lead ids only; workers fetch the lead data.

The GET handshake echoes `hub.challenge` when `hub.verify_token` matches; deliveries are signed
with `X-Hub-Signature-256: sha256=<hex HMAC of the body, keyed by the app secret>`.
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from typing import Any

from marshmallow import fields, validate

from gateway.domain.sources.base import (
    Draft,
    Inbound,
    Sample,
    Source,
)
from gateway.domain.sources.providers.meta_leads import GraphLeads
from gateway.domain.sources.recognize import recognize
from gateway.domain.sources.settings import (
    CHOSEN,
    ReconcileSchema,
    ReconcileSettings,
    SecretSchema,
    SecretSettings,
)
from gateway.domain.sources.shape import part
from gateway.domain.sources.signatures import digest, matches_any, parse_json, require_header
from gateway.domain.urls import require_tls
from gateway.errors import BadRequest, Ignored, Unauthorized

GRAPH_API_URL = "https://graph.facebook.com/v21.0"
CHANGE_FIELDS = ("page_id", "form_id", "ad_id", "adgroup_id", "created_time")
MAX_CHALLENGE = 256
PAREN = re.compile(r"\(.*$")


class MetaSchema(SecretSchema, ReconcileSchema):
    """A Meta route's settings: app secret, verify token, page token, Graph API, reconciling."""

    verify_token = fields.String(required=True, validate=CHOSEN)
    page_access_token = fields.String(required=True, validate=validate.Length(min=8))
    graph_api_url = fields.URL(load_default=GRAPH_API_URL, require_tld=False,
                               schemes={"http", "https"}, validate=require_tls)
    # reconciliation and source health (workers/meta/reconcile.py, workers/meta/health.py)
    page_id = fields.String(validate=validate.Regexp(r"^[0-9]{1,32}$"))
    forms = fields.List(fields.String(validate=validate.Regexp(r"^[0-9]{1,32}$")),
                        validate=validate.Length(min=1, max=200))
    app_access_token = fields.String(validate=validate.Length(min=8))


@dataclass(frozen=True, kw_only=True)
class MetaSettings(SecretSettings, ReconcileSettings):
    """A Meta route's app secret, handshake token, page token, and what it reconciles."""

    verify_token: str
    page_access_token: str
    graph_api_url: str = GRAPH_API_URL
    page_id: str = ""
    forms: tuple[str, ...] = ()
    app_access_token: str = ""


class MetaLeadAds(Source[MetaSettings]):
    """Meta Lead Ads leadgen notifications; the leads themselves come from the Graph API."""

    name = "meta_lead_ads"
    settings_schema = MetaSchema
    settings_type = MetaSettings
    lead_defaults = {"source_type": "form", "source_platform": "meta_ads"}
    success_status = 200       # Meta asks for 200 OK to every notification
    lists_leads = True         # each form's leads through the Graph API

    def listing_needs(self, settings: MetaSettings) -> str:
        return "" if settings.page_id or settings.forms else "page_id or forms"

    def handshake(self, inbound: Inbound, settings: MetaSettings) -> tuple[int, str] | None:
        """Answer Meta's subscription check (hub.challenge) when the verify token matches."""
        mode = inbound.query.get("hub.mode")
        if mode is None:
            return None
        token = inbound.query.get("hub.verify_token", "")
        challenge = inbound.query.get("hub.challenge", "")
        if mode != "subscribe" or not hmac.compare_digest(token.encode(),
                                                          settings.verify_token.encode()):
            return 403, "hub.verify_token does not match"
        if not challenge or len(challenge) > MAX_CHALLENGE:
            return 400, "hub.challenge is missing"
        return 200, challenge

    def sign(self, settings: MetaSettings, body: bytes, *, stamp: str = "",
             msg_id: str = "") -> dict[str, str]:
        """Meta's X-Hub-Signature-256: HMAC-SHA256 of the body."""
        return {"X-Hub-Signature-256": "sha256=" + digest(settings.secret, body)}

    def authenticate(self, inbound: Inbound, settings: MetaSettings) -> None:
        """Check X-Hub-Signature-256 against the body."""
        given = require_header(inbound.headers, "X-Hub-Signature-256")
        expected = self.sign(settings, inbound.body)["X-Hub-Signature-256"]
        if not matches_any(expected, [given], fold_case=True):
            raise Unauthorized("X-Hub-Signature-256 does not match the body")

    def parse(self, inbound: Inbound, settings: MetaSettings) -> list[Draft]:
        """Each leadgen change: a draft to complete from the Graph API."""
        body = parse_json(inbound.body)
        if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
            raise BadRequest("not a Meta webhook: no entry list")
        drafts: dict[str, Draft] = {}
        for entry in body["entry"]:
            changes = entry.get("changes") if isinstance(entry, dict) else None
            for change in changes if isinstance(changes, list) else []:
                if not isinstance(change, dict) or change.get("field") != "leadgen":
                    continue
                value = part(change, "value")
                lead_id = value.get("leadgen_id")
                if isinstance(lead_id, bool) or not isinstance(lead_id, str | int) or \
                        not str(lead_id).strip():
                    raise BadRequest("a leadgen change without leadgen_id")
                known = {name: str(value[name]) for name in CHANGE_FIELDS
                         if value.get(name) not in (None, "")}
                drafts.setdefault(str(lead_id), Draft(event_id=str(lead_id), fields=known,
                                                      enrich="meta"))
        if not drafts:
            raise Ignored(f"no leadgen change in this {body.get('object', 'webhook')!r} delivery")
        return list(drafts.values())

    def sample(self, settings: MetaSettings, now: float, tag: str) -> Sample:
        """A leadgen webhook as Meta sends it."""
        lead_id = int(tag or "1", 16) % 10**15 + 10**15      # a 16-digit id, as Meta's are
        body = json.dumps({"object": "page", "entry": [{
            "id": "112233445566778", "time": int(now), "changes": [{
                "field": "leadgen", "value": {
                    "ad_id": 120210000000000001, "form_id": 987654321098765,
                    "leadgen_id": lead_id, "created_time": int(now),
                    "page_id": 112233445566778, "adgroup_id": 120210000000000001}}]}]}).encode()
        return Sample(body, {"Content-Type": "application/json", **self.sign(settings, body)})


def lead_draft(lead_id: str, webhook_fields: dict[str, Any], lead: dict[str, Any]) -> Draft:
    """A lead once the Graph API returned it: answers by question key beside the webhook's ids,
    and the contact recognised (Meta may turn a custom label into a key such as
    "phone_number_(eg.65xxxxxxxx)", which still reads as the phone)."""
    values = {**webhook_fields, **lead_values(lead)}
    plain = {PAREN.sub("", key).strip("_ "): key for key in values}
    found, used = recognize({name: values[key] for name, key in plain.items()})
    return Draft(event_id=lead_id, lead=found, fields=values, used={plain[n] for n in used})


def lead_values(lead: dict[str, Any]) -> dict[str, Any]:
    """A Graph lead object's answers by question key; one-value lists become the value."""
    values: dict[str, Any] = {}
    field_data = lead.get("field_data")
    for item in field_data if isinstance(field_data, list) else []:
        if isinstance(item, dict) and isinstance(item.get("name"), str | int) and item["name"]:
            answers = item["values"] if isinstance(item.get("values"), list) else []
            values[str(item["name"])] = answers[0] if len(answers) == 1 else answers
    for name in ("ad_name", "adset_name", "campaign_name", "platform", "is_organic",
                 "created_time"):
        if lead.get(name) not in (None, ""):
            values[name] = lead[name]
    return values


MetaLeadAds.enrichment = GraphLeads(lead_draft, MetaLeadAds.lead_defaults)
