"""`google_lead_forms`: Google Ads lead form webhooks; the shared key travels in the body."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError, fields, post_load, validate, validates_schema

from gateway import defaults
from gateway.domain.sources.base import (
    Draft,
    Inbound,
    Sample,
    Source,
    sample_contact,
)
from gateway.domain.sources.settings import (
    CHOSEN,
    ReconcileSchema,
    ReconcileSettings,
    RouteSchema,
    RouteSettings,
)
from gateway.domain.sources.shape import scalar
from gateway.domain.sources.signatures import parse_json, require_secret
from gateway.domain.urls import require_tls
from gateway.errors import BadRequest

# column_id values that are contacts; everything else is kept by column_id (and column_name)
CONTACT_COLUMNS = {"FULL_NAME": "name", "FIRST_NAME": "first", "LAST_NAME": "last",
                   "EMAIL": "email", "WORK_EMAIL": "email", "PHONE_NUMBER": "phone",
                   "WORK_PHONE": "phone"}
KNOWN_COLUMNS = {*CONTACT_COLUMNS, "POSTAL_CODE", "STREET_ADDRESS", "CITY", "REGION", "COUNTRY",
                 "COMPANY_NAME", "JOB_TITLE"}
METADATA = ("form_id", "campaign_id", "adgroup_id", "creative_id", "asset_group_id", "gcl_id",
            "api_version", "lead_stage", "lead_submit_time", "lead_source")


ADS_CUSTOMER_ID = validate.Regexp(r"^[0-9]{3}-?[0-9]{3}-?[0-9]{4}$",
                                  error="must be a 10-digit Google Ads customer id")
# reconciliation's credentials: all or none; the secrets only as ${VAR} (config.ENV_ONLY)
CREDENTIALS = ("ads_customer_id", "developer_token", "oauth_client_id", "oauth_client_secret",
               "oauth_refresh_token")


class GoogleSchema(RouteSchema, ReconcileSchema):
    """A Google lead-form route's settings: its google_key, test leads, Ads API access."""

    google_key = fields.String(required=True, validate=CHOSEN)
    accept_test_leads = fields.Boolean(load_default=False)
    # reconciliation through the Google Ads API (workers/google/): on when credentials are set
    ads_customer_id = fields.String(validate=ADS_CUSTOMER_ID)
    login_customer_id = fields.String(validate=ADS_CUSTOMER_ID)   # a manager account's id
    developer_token = fields.String(validate=validate.Length(min=8))
    oauth_client_id = fields.String(validate=validate.Length(min=8))
    oauth_client_secret = fields.String(validate=validate.Length(min=8))
    oauth_refresh_token = fields.String(validate=validate.Length(min=8))
    forms = fields.List(fields.String(validate=validate.Regexp(r"^[0-9]{1,20}$")),
                        validate=validate.Length(min=1, max=200))
    ads_api_url = fields.URL(load_default=defaults.GOOGLE_ADS_API_URL, require_tld=False,
                             schemes={"http", "https"}, validate=require_tls)
    oauth_token_url = fields.URL(load_default=defaults.GOOGLE_OAUTH_TOKEN_URL,
                                 require_tld=False, schemes={"http", "https"},
                                 validate=require_tls)
    env_only = ("developer_token", "oauth_client_id", "oauth_client_secret",
                "oauth_refresh_token")

    @validates_schema
    def _all_or_none(self, data: dict[str, Any], **_: Any) -> None:
        given = [name for name in CREDENTIALS if data.get(name)]
        if given and len(given) < len(CREDENTIALS):
            missing = next(name for name in CREDENTIALS if not data.get(name))
            raise ValidationError(f"reconciliation needs {', '.join(CREDENTIALS)} together "
                                  f"({missing} is missing)", missing)
        if data.get("login_customer_id") and not given:
            raise ValidationError("needs ads_customer_id and the credentials",
                                  "login_customer_id")

    @post_load
    def _digits(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        """Customer ids as the API takes them: digits only."""
        for name in ("ads_customer_id", "login_customer_id"):
            if name in data:
                data[name] = data[name].replace("-", "")
        return data


@dataclass(frozen=True, kw_only=True)
class GoogleSettings(RouteSettings, ReconcileSettings):
    """A Google route's key, and the Google Ads API credentials of its reconciliation."""

    google_key: str
    accept_test_leads: bool = False
    ads_customer_id: str = ""             # digits only; '': no reconciliation
    login_customer_id: str = ""
    developer_token: str = ""
    oauth_client_id: str = ""
    oauth_client_secret: str = ""
    oauth_refresh_token: str = ""
    forms: tuple[str, ...] = ()           # (): every form of the account
    ads_api_url: str = defaults.GOOGLE_ADS_API_URL
    oauth_token_url: str = defaults.GOOGLE_OAUTH_TOKEN_URL


class GoogleLeadForms(Source[GoogleSettings]):
    """Google Ads lead form webhooks, authenticated by the google_key in the body."""

    name = "google_lead_forms"
    settings_schema = GoogleSchema
    settings_type = GoogleSettings
    lead_defaults = {"source_type": "form", "source_platform": "google_ads"}
    success_status = 200        # Google's test button shows green on 200 only
    remembered = True           # the Ads API's id may differ from lead_id: match by gclid...
    lists_leads = True          # lead_form_submission_data through the Google Ads API

    def listing_needs(self, settings: GoogleSettings) -> str:
        return "" if settings.ads_customer_id else \
            f"{', '.join(CREDENTIALS)} (the Google Ads API's access)"

    def authenticate(self, inbound: Inbound, settings: GoogleSettings) -> None:
        """Check the google_key that Google puts in the body."""
        body = _body(inbound)
        given = body.get("google_key", body.get("Google_key"))
        require_secret(given, settings.google_key, "google_key")

    def parse(self, inbound: Inbound, settings: GoogleSettings) -> list[Draft]:
        """The lead form's answers as one lead draft."""
        return [lead_draft(_body(inbound), settings)]

    def sample(self, settings: GoogleSettings, now: float, tag: str) -> Sample:
        """A test lead as Google's "send test data" posts it."""
        who = sample_contact(tag)
        body = {"lead_id": f"TeSter-{tag}-lead-submission", "api_version": "1.0",
                "form_id": 349080077126, "campaign_id": 23729418209,
                "google_key": settings.google_key, "is_test": False,
                "gcl_id": "Cj0KCQjw-sample-gclid", "adgroup_id": 195583084496,
                "creative_id": 700000000001, "lead_submit_time": "2026-05-01T12:30:00Z",
                "user_column_data": [
                    {"column_name": "Full Name", "string_value": who["name"],
                     "column_id": "FULL_NAME"},
                    {"column_name": "User Email", "string_value": who["email"],
                     "column_id": "EMAIL"},
                    {"column_name": "User Phone", "string_value": who["phone"],
                     "column_id": "PHONE_NUMBER"},
                    {"column_name": "Postal Code", "string_value": "94107",
                     "column_id": "POSTAL_CODE"}]}
        return Sample(json.dumps(body).encode(), {"Content-Type": "application/json"})


def lead_draft(body: dict[str, Any], settings: GoogleSettings) -> Draft:
    """The draft of one lead in the webhook's shape (reconciliation maps the Ads API's
    submissions to this shape too, so both ways give the same lead)."""
    lead_id = body.get("lead_id")
    if not isinstance(lead_id, str | int) or lead_id in ("", True, False):
        raise BadRequest("not a Google lead: no lead_id")
    columns = body.get("user_column_data")
    if not isinstance(columns, list) or not all(isinstance(c, dict) for c in columns):
        raise BadRequest("user_column_data must be a list of objects")
    values: dict[str, Any] = {name: _text(body[name]) for name in METADATA if name in body}
    roles: dict[str, tuple[str, Any]] = {}
    for column in columns:
        column_id = scalar(column, "column_id", "user_column_data[].column_id")
        column_name = scalar(column, "column_name", "user_column_data[].column_name")
        value = _text(column.get("string_value"))
        if column_id:
            values[str(column_id)] = value
        if column_name and (not column_id or column_id not in KNOWN_COLUMNS):
            values[str(column_name)] = value
        if column_id in CONTACT_COLUMNS and value not in (None, ""):
            roles.setdefault(CONTACT_COLUMNS[column_id], (str(column_id), value))
    test = body.get("is_test") is True and not settings.accept_test_leads
    return Draft(event_id=str(lead_id), lead=_contact(roles), fields=values,
                 used={column for column, _ in roles.values()}, test=test)


def _contact(roles: dict[str, tuple[str, Any]]) -> dict[str, Any]:
    lead: dict[str, Any] = {}
    if "name" in roles:
        lead["contact_name"] = roles["name"][1]
    elif "first" in roles or "last" in roles:
        lead["contact_name"] = " ".join(str(roles[r][1]).strip()
                                        for r in ("first", "last") if r in roles)
    if "email" in roles:
        lead["contact_email"] = roles["email"][1]
    if "phone" in roles:
        lead["contact_phone"] = roles["phone"][1]
    return lead


def _body(inbound: Inbound) -> dict[str, Any]:
    body = parse_json(inbound.body)
    if not isinstance(body, dict):
        raise BadRequest("body must be a JSON object")
    return body


def _text(value: Any) -> Any:
    """int64 ids arrive as JSON numbers: keep them as exact strings."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value
