"""Realistic provider deliveries for the tests: bodies, signers, route settings."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hubspot.utils.signature import Signature

from gateway.domain.sources import SOURCES
from tests.conftest import URL_TOKEN

WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SECRET = "provider-secret-1"
NOW = 1_777_636_800

TYPEFORM = {"event_id": "01HZX3V5N6S7T8U9V0W1X2Y3Z4", "event_type": "form_response",
            "form_response": {
                "form_id": "lT4Z3j", "token": "a3a12ec67a1365927098a606107fac15",
                "hidden": {"utm_source": "newsletter"},
                "definition": {"id": "lT4Z3j", "fields": [
                    {"id": "JwW", "title": "What is your name?", "type": "short_text"}]},
                "answers": [
                    {"type": "text", "text": "Ana Rivera", "field": {"id": "JwW"}},
                    {"type": "email", "email": "ana@example.com",
                     "field": {"id": "SME", "ref": "contact"}},
                    {"type": "phone_number", "phone_number": "+14155550123",
                     "field": {"id": "k6T", "ref": "mobile_or_landline"}},
                    {"type": "choice", "choice": {"label": "$5k-$10k"},
                     "field": {"id": "PNe", "ref": "budget"}},
                    {"type": "choices", "choices": {"labels": ["Condo", "House"]},
                     "field": {"id": "Qx1", "ref": "kinds"}}]}}
TALLY = {"eventId": "a4cb511e-d513-4fa5-baee-b815d718dfd1", "eventType": "FORM_RESPONSE",
         "data": {"responseId": "2wgx4n", "fields": [
             {"key": "question_3EKz4n", "label": "Name", "type": "INPUT_TEXT",
              "value": "Ana Rivera"},
             {"key": "question_w4Q4Xn", "label": "Where can we write?", "type": "INPUT_EMAIL",
              "value": "ana@example.com"},
             {"key": "question_mVaMPp", "label": "Best number", "type": "INPUT_PHONE_NUMBER",
              "value": "+14155550123"},
             {"key": "question_nPpWdm", "label": "Budget", "type": "MULTIPLE_CHOICE",
              "value": ["5f3c"], "options": [{"id": "5f3c", "text": "$5k-$10k"},
                                             {"id": "9a1b", "text": "$10k+"}]}]}}
STANDARD = {"type": "lead.created", "timestamp": "2026-05-01T12:00:00Z",
            "data": {"id": "L-1", "name": "Ana Rivera", "email": "ana@example.com",
                     "phone": "+14155550123", "budget": "$5k-$10k"}}


def sign(source: str, body: bytes, *, stamp: str | None = None, msg_id: str = "msg_1"
         ) -> dict[str, str]:
    """The source's own signer (the one its verification uses), with the tests' settings."""
    adapter = SOURCES[source]
    if source in OWN_SIGNERS:          # signed by a key the test holds or HubSpot's library
        return OWN_SIGNERS[source](body, stamp)
    default = str(NOW * 1000) if source == "webflow" else str(NOW)
    return adapter.sign(adapter.load_settings(SETTINGS[source]), body,
                        stamp=default if stamp is None else stamp, msg_id=msg_id)


def standard_headers(body: bytes, msg_id: str = "msg_1", ts: int = NOW) -> dict[str, str]:
    """Signed, with an invalid candidate first (a rotated-out key's signature)."""
    headers = sign("standard_webhooks", body, stamp=str(ts), msg_id=msg_id)
    headers["webhook-signature"] = f"v1,{'A' * 44} " + headers["webhook-signature"]
    return {**headers, "Content-Type": "application/json"}


META_SECRET = "meta-app-secret"
META_TOKEN = "EAAG-page-token-for-tests"
LEAD_ID = 1234567890123456
WEBFLOW = {"triggerType": "form_submission", "payload": {
    "name": "Contact Us", "siteId": "65427cf400e02b306eaa049c",
    "data": {"First Name": "Ana", "Last Name": "Rivera", "email": "ana@example.com",
             "Phone Number": 14155550123, "Budget": "$5k-$10k"},
    "schema": [{"fieldName": "First Name", "fieldType": "FormTextInput"}],
    "submittedAt": "2026-05-01T12:00:00.123Z", "id": "6821ca84df3949bfc6752327",
    "formId": "65429eadebe8a9f3a30f62d0"}}
GOOGLE = {"lead_id": "AbCdEf12345-XyZ_lead-submission-id", "api_version": "1.0",
          "form_id": 349080077126, "campaign_id": 23729418209, "google_key": SECRET,
          "is_test": False, "gcl_id": "Cj0KCQjw-example-gclid",
          "user_column_data": [
              {"column_name": "Full Name", "string_value": "Ana Rivera", "column_id": "FULL_NAME"},
              {"column_name": "User Email", "string_value": "ana@example.com",
               "column_id": "EMAIL"},
              {"column_name": "User Phone", "string_value": "+14155550123",
               "column_id": "PHONE_NUMBER"},
              {"column_name": "What is your budget?", "string_value": "$5k-$10k",
               "column_id": "QUESTION_1"}]}
META = {"object": "page", "entry": [{"id": "112233445566778", "time": NOW, "changes": [
    {"field": "leadgen", "value": {"ad_id": 120210000000000001, "form_id": 987654321098765,
                                   "leadgen_id": LEAD_ID, "created_time": NOW,
                                   "page_id": 112233445566778, "adgroup_id": 0}}]}]}
META_ANSWERS = [{"name": "full_name", "values": ["Ana Rivera"]},
                {"name": "email", "values": ["ana@example.com"]},
                {"name": "phone_number_(eg.4155550123)", "values": ["+14155550123"]},
                {"name": "budget", "values": ["$5k-$10k"]}]
UNBOUNCE_DATA = {"full_name": ["Ana Rivera"], "email": ["ana@example.com"],
                 "phone_number": ["+14155550123"], "budget": ["$5k-$10k"],
                 "ip_address": ["203.0.113.7"],
                 "page_uuid": ["7648177d-7323-4330-b4f9-9951a52138b6"], "variant": ["b"],
                 "time_submitted": ["11:45 AM UTC"], "date_submitted": ["2026-05-01"]}
JOTFORM_RAW = {"slug": "submit/243231271343446", "q3_name": {"first": "Ana", "last": "Rivera"},
               "q4_email": "ana@example.com", "q5_phoneNumber": {"full": "(415) 555-0123"},
               "q7_budget": "$5k-$10k", "path": "/submit/243231271343446"}
INTERCOM = {"type": "notification_event", "app_id": "abc123def", "topic": "contact.lead.created",
            "id": "notif_204d32ad-f47a-4276-8074-e5ce789d2987", "delivery_attempts": 1,
            "data": {"type": "notification_event_data", "item": {
                "type": "contact", "id": "6961d897719c606240178da8", "role": "lead",
                "email": "ana@example.com", "phone": "+14155550123", "name": "Ana Rivera",
                "custom_attributes": {"budget": "$5k-$10k"}, "utm_source": "google"}}}
LIVECHAT = {"webhook_id": "f8a7c1e2b3d4", "secret_key": SECRET, "action": "incoming_chat",
            "organization_id": "390e44e6", "payload": {"chat": {
                "id": "PJ0MRSHTDG",
                "users": [{"id": "b7ef", "type": "customer", "name": "Ana Rivera",
                           "email": "ana@example.com", "phone_number": "+14155550123"},
                          {"id": "agent@example.com", "type": "agent", "name": "Sam Agent"}],
                "thread": {"id": "K600PKZON8", "events": [{
                    "id": "0aff", "type": "filled_form", "form_type": "prechat", "fields": [
                        {"type": "name", "id": "1", "label": "Your name", "answer": "Ana R."},
                        {"type": "radio", "id": "2", "label": "Budget",
                         "answer": {"id": "0", "label": "$5k-$10k"}}]}]}}}}


def multipart(parts: dict[str, str], boundary: str = "J1JNT4vbVO4FCC1qLG4HSv") -> bytes:
    chunks = [f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
              for name, value in parts.items()]
    return ("".join(chunks) + f"--{boundary}--\r\n").encode()


def encode(source: str, sample: Any) -> tuple[bytes, str]:
    """A delivery's bytes and content type, as the provider sends them."""
    if source == "unbounce":
        return urlencode({"page_id": "7648177d-7323-4330-b4f9-9951a52138b6", "variant": "b",
                          "page_name": "Spring Promo", "data.json": json.dumps(sample)}).encode(), \
            "application/x-www-form-urlencoded"
    if source == "jotform":
        return multipart({"formID": "243231271343446", "submissionID": "6084250982513018472",
                          "formTitle": "Request a Quote", "ip": "203.0.113.7",
                          "rawRequest": json.dumps(sample)}), \
            "multipart/form-data; boundary=J1JNT4vbVO4FCC1qLG4HSv"
    return json.dumps(sample).encode(), "application/json"


SAMPLES = {"typeform": TYPEFORM, "tally": TALLY, "standard_webhooks": STANDARD,
           "meta_lead_ads": META, "google_lead_forms": GOOGLE, "webflow": WEBFLOW,
           "unbounce": UNBOUNCE_DATA, "jotform": JOTFORM_RAW, "intercom": INTERCOM,
           "livechat": LIVECHAT}
SETTINGS: dict[str, dict[str, Any]] = {
    "typeform": {"secret": SECRET}, "tally": {"secret": SECRET},
    "standard_webhooks": {"secret": WHSEC}, "google_lead_forms": {"google_key": SECRET},
    "webflow": {"secret": SECRET}, "unbounce": {"url_token": URL_TOKEN},
    "jotform": {"url_token": URL_TOKEN}, "intercom": {"secret": SECRET},
    "livechat": {"secret_key": SECRET},
    "meta_lead_ads": {"secret": META_SECRET, "verify_token": "meta-verify-token",
                      "page_access_token": META_TOKEN}}
FIELD_MAPS = {"typeform": {"budget": "custom_fields.budget",
                           "hidden.utm_source": "custom_fields.utm_source"},
              "tally": {"Budget": "custom_fields.budget"},
              "standard_webhooks": {"data.budget": "custom_fields.budget"},
              "meta_lead_ads": {"budget": "custom_fields.budget"},
              "google_lead_forms": {"QUESTION_1": "custom_fields.budget"},
              "webflow": {"Budget": "custom_fields.budget"},
              "unbounce": {"budget": "custom_fields.budget"},
              "jotform": {"q7_budget": "custom_fields.budget"},
              "intercom": {"custom_attributes.budget": "custom_fields.budget"},
              "livechat": {"Budget": "custom_fields.budget"}}
CHAT = {"intercom", "livechat"}
PLATFORMS = {"meta_lead_ads": "meta_ads", "google_lead_forms": "google_ads"}


def hook(source: str) -> str:
    token = SETTINGS[source].get("url_token")
    return f"/hooks/acme-{source}" + (f"/{token}" if token else "")


def signed(source: str, sample: Any = None) -> tuple[bytes, dict[str, str]]:
    body, content_type = encode(source, SAMPLES[source] if sample is None else sample)
    extra = standard_headers(body) if source == "standard_webhooks" else sign(source, body)
    return body, {"Content-Type": content_type, **extra, **HEADERS.get(source, {})}




# -- Calls, texts and email: CallRail, Twilio, Mailgun ---------------------------------------
CALLRAIL_SECRET = "callrail-company-signing-token"
TWILIO_TOKEN = "twilio-auth-token-0123456789abcdef"
MAILGUN_KEY = "mailgun-webhook-signing-key-0123456789"
CALLRAIL_CALL = {
    "resource_id": "CALb14811eb573645c6989000cf426b9772", "answered": True,
    "business_phone_number": "+14045550100", "call_type": "answered",
    "company_resource_id": "COM8154748ae6bd4e278a7cddd38a662f4f", "company_name": "Acme",
    "customer_city": "San Francisco", "customer_name": "Ana Rivera",
    "customer_phone_number": "+14155550123", "customer_state": "CA", "direction": "inbound",
    "duration": "143", "first_call": True, "formatted_tracking_source": "Google Ads",
    "source": "Google Ads", "source_name": "Website Pool", "medium": "CPC",
    "recording": "https://app.callrail.com/calls/CALb148/recording/redirect?access_key=a1",
    "start_time": "2026-05-01T12:00:00.000-04:00", "tracking_phone_number": "+14045558514",
    "keywords": "emergency plumber", "landing_page_url": "https://acme.example/plumbing",
    "gclid": "Cj0KCQjw-callrail-gclid", "utm_source": "google", "utm_medium": "cpc",
    "tags": [], "note": "", "voicemail": False, "prior_calls": 0}
CALLRAIL_TEXT = {
    "resource_id": "SMSa8e2c0d93f4b4e7c9a1f6e5d4c3b2a19", "content": "Are you open Sunday?",
    "thread_resource_id": "SMTa8e2c0d93f4b4e7c9a1f6e5d4c3b2a19",
    "person_resource_id": "PERa8e2c0d93f4b4e7c9a1f6e5d4c3b2a19",
    "company_resource_id": "COM8154748ae6bd4e278a7cddd38a662f4f",
    "source_number": "+14155550123", "destination_number": "+14045558514",
    "customer_name": "Ana Rivera", "direction": "inbound", "source": "Google Organic",
    "created_at": "2026-05-01T12:00:00.000-04:00"}
CALLRAIL_FORM = {
    "resource_id": "FRMa8e2c0d93f4b4e7c9a1f6e5d4c3b2a19",
    "company_resource_id": "COM8154748ae6bd4e278a7cddd38a662f4f",
    "form_data": {"your_name": "Ana Rivera", "email": "ana@example.com",
                  "phone": "(415) 555-0123", "budget": "$5k-$10k"},
    "form_url": "https://acme.example/contact", "landing_page_url": "https://acme.example/",
    "source": "Facebook Ads", "medium": "cpc", "first_form": True,
    "submitted_at": "2026-05-01T12:00:00.000-04:00"}
TWILIO_SMS = {
    "ToCountry": "US", "ToState": "CA", "SmsMessageSid": "SM1f0e5b3c2a7d4e8f9a0b1c2d3e4f5a6b",
    "NumMedia": "0", "ToCity": "SAN FRANCISCO", "FromZip": "94105",
    "SmsSid": "SM1f0e5b3c2a7d4e8f9a0b1c2d3e4f5a6b", "FromState": "CA", "SmsStatus": "received",
    "FromCity": "SAN FRANCISCO", "Body": "Is the flat on 5th still available?",
    "FromCountry": "US", "To": "+14155550100", "ToZip": "94105", "NumSegments": "1",
    "MessageSid": "SM1f0e5b3c2a7d4e8f9a0b1c2d3e4f5a6b",
    "AccountSid": "AC0123456789abcdef0123456789abcdef", "From": "+14155550123",
    "ApiVersion": "2010-04-01"}
TWILIO_CALL = {
    "Called": "+14155550100", "ToState": "CA", "CallerCountry": "US", "Direction": "inbound",
    "Timestamp": "Fri, 01 May 2026 16:02:23 +0000", "CallbackSource": "call-progress-events",
    "CallerState": "CA", "ToZip": "94105", "SequenceNumber": "0",
    "CallSid": "CA4c0a1e2b3d4f5a6b7c8d9e0f1a2b3c4d", "To": "+14155550100",
    "CallerZip": "94105", "ToCountry": "US", "CalledZip": "94105", "ApiVersion": "2010-04-01",
    "CalledCity": "SAN FRANCISCO", "CallStatus": "completed", "Duration": "3",
    "From": "+14155550123", "CallDuration": "143", "AccountSid":
    "AC0123456789abcdef0123456789abcdef", "CalledCountry": "US", "CallerCity": "SAN FRANCISCO",
    "ToCity": "SAN FRANCISCO", "FromCountry": "US", "Caller": "+14155550123",
    "FromCity": "SAN FRANCISCO", "CalledState": "CA", "FromZip": "94105", "FromState": "CA",
    "CallerName": "Ana Rivera"}
MAILGUN_HEADERS = [
    ["Received", "from mail-sor-f41.google.com by mxa.mailgun.org with SMTP"],
    ["Date", "Fri, 1 May 2026 12:00:00 -0400"],
    ["Message-Id", "<CAF8x7Yq0example@mail.gmail.com>"],
    ["Subject", "Kitchen remodel quote"], ["From", "Ana Rivera <ana@example.com>"],
    ["To", "leads@acme.example"], ["Mime-Version", "1.0"],
    ["Content-Type", "multipart/alternative; boundary=\"000000000000abc\""]]
MAILGUN_EMAIL = {
    "recipient": "leads@acme.example", "sender": "ana@example.com",
    "from": "Ana Rivera <ana@example.com>", "subject": "Kitchen remodel quote",
    "body-plain": "Hello,\n\nCould you quote a kitchen remodel?\n\n-- \nAna",
    "stripped-text": "Hello,\n\nCould you quote a kitchen remodel?",
    "stripped-signature": "Ana", "body-html": "<div>Hello,</div>",
    "Date": "Fri, 1 May 2026 12:00:00 -0400", "Message-Id": "<CAF8x7Yq0example@mail.gmail.com>",
    "From": "Ana Rivera <ana@example.com>", "Subject": "Kitchen remodel quote",
    "message-headers": json.dumps(MAILGUN_HEADERS)}
CALL_ROUTES: dict[str, dict[str, Any]] = {
    "acme-callrail": {"customer": "acme", "source": "callrail", "secret": CALLRAIL_SECRET,
                      "fields": {"gclid": "custom_fields.gclid",
                                 "tracking_phone_number": "custom_fields.tracking_number",
                                 "duration": "custom_fields.duration_s",
                                 "answered": "custom_fields.answered",
                                 "recording": "custom_fields.recording_url",
                                 "landing_page_url": "custom_fields.landing_page",
                                 "keywords": "custom_fields.keywords",
                                 "content": "custom_fields.message",
                                 "form_data.budget": "custom_fields.budget"}},
    "acme-twilio": {"customer": "acme", "source": "twilio", "auth_token": TWILIO_TOKEN,
                    "fields": {"Body": "custom_fields.message",
                               "CallDuration": "custom_fields.duration_s"}},
    "acme-mailgun": {"customer": "acme", "source": "mailgun", "signing_key": MAILGUN_KEY,
                     "fields": {"subject": "custom_fields.subject",
                                "stripped-text": "custom_fields.message"}},
}


# Shopify, HighLevel and HubSpot: each delivery as the provider sends it, Ana's contact in it.
SHOPIFY_ID = 7_123_456_789_012
SHOPIFY = {"id": SHOPIFY_ID, "email": "ana@example.com", "created_at": "2026-05-01T08:00:00-04:00",
           "updated_at": "2026-05-01T08:00:00-04:00", "first_name": "Ana", "last_name": "Rivera",
           "orders_count": 0, "state": "disabled", "total_spent": "0.00", "last_order_id": None,
           "note": "$5k-$10k", "verified_email": True, "multipass_identifier": None,
           "tax_exempt": False, "tags": "", "currency": "USD", "phone": "+14155550123",
           "addresses": [], "tax_exemptions": [],
           "email_marketing_consent": {"state": "not_subscribed",
                                       "opt_in_level": "single_opt_in",
                                       "consent_updated_at": None},
           "sms_marketing_consent": None,
           "admin_graphql_api_id": f"gid://shopify/Customer/{SHOPIFY_ID}", "default_address": None}
SHOPIFY_ORDER = {"id": 5_820_000_000_001, "email": "ana@example.com",
                 "created_at": "2026-05-01T08:00:05-04:00", "total_price": "129.00",
                 "currency": "USD", "financial_status": "paid", "name": "#1001",
                 "billing_address": {"first_name": "Ana", "last_name": "Rivera",
                                     "phone": "+14155550123", "city": "Austin",
                                     "province_code": "TX", "country_code": "US"},
                 "customer": {"id": SHOPIFY_ID, "email": "ana@example.com",
                              "created_at": "2026-05-01T08:00:04-04:00", "first_name": "Ana",
                              "last_name": "Rivera", "phone": None, "state": "disabled",
                              "note": "$5k-$10k", "tags": "", "currency": "USD"},
                 "line_items": [{"id": 1, "title": "Deep clean", "quantity": 1,
                                 "price": "129.00"}]}
GHL_BUDGET_FIELD = "BcdmQEsNgz6AVpgLVUJ0"
GHL = {"type": "ContactCreate", "locationId": "ve9EPM428h8vShlRW1KT", "id": "nmFmQEsNgz6AVpgLVUJ0",
       "address1": "3535 1st St N", "city": "Austin", "state": "TX", "companyName": "",
       "country": "US", "source": "form: Get a quote", "dateAdded": "2026-05-01T12:00:00.193Z",
       "dnd": False, "email": "ana@example.com", "name": "Ana Rivera", "firstName": "Ana",
       "lastName": "Rivera", "phone": "+14155550123", "postalCode": "78701",
       "tags": ["website lead"], "website": "", "attachments": [],
       "assignedTo": "nmFmQEsNgz6AVpgLVUJ1",
       "customFields": [{"id": GHL_BUDGET_FIELD, "value": "$5k-$10k"}]}
GHL_KEY = Ed25519PrivateKey.generate()          # the test's own key pair, as HighLevel's
GHL_PUBLIC = GHL_KEY.public_key().public_bytes(
    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
HUBSPOT_SECRET = "hubspot-client-secret-0001"
HUBSPOT_URL = "https://leads.example.com/hooks/acme-hubspot"
HUBSPOT_TOKEN = "pat-na1-test-0000-hubspot-private-app"
HUBSPOT_CONTACT = LEAD_ID
HUBSPOT = [{"eventId": 3_800_000_123, "subscriptionId": 2_410_021, "portalId": 62515,
            "appId": 54321, "occurredAt": NOW * 1000, "subscriptionType": "contact.creation",
            "attemptNumber": 0, "objectId": HUBSPOT_CONTACT, "changeFlag": "CREATED",
            "changeSource": "CRM", "sourceId": "userId:1234567"}]
HUBSPOT_PROPERTIES = {"firstname": "Ana", "lastname": "Rivera", "email": "ana@example.com",
                      "mobilephone": "+14155550123", "message": "$5k-$10k",
                      "lifecyclestage": "lead"}


def ghl_sign(body: bytes, _stamp: str | None = None, key: Ed25519PrivateKey = GHL_KEY
             ) -> dict[str, str]:
    """X-GHL-Signature as HighLevel sends it: base64 Ed25519 over the raw body."""
    return {"X-GHL-Signature": base64.b64encode(key.sign(body)).decode()}


def hubspot_sign(body: bytes, stamp: str | None = None, secret: str = HUBSPOT_SECRET,
                 url: str = HUBSPOT_URL) -> dict[str, str]:
    """HubSpot's v3 headers, computed by HubSpot's own library."""
    stamp = str(NOW * 1000) if stamp is None else stamp
    return {"X-HubSpot-Signature-v3": Signature.get_signature(
        secret, body.decode(), "v3", http_uri=url, http_method="POST", timestamp=stamp),
        "X-HubSpot-Request-Timestamp": stamp}


OWN_SIGNERS = {"gohighlevel": ghl_sign, "hubspot": hubspot_sign}
HEADERS = {"shopify": {"X-Shopify-Topic": "customers/create",
                       "X-Shopify-Shop-Domain": "acme-cleaning.myshopify.com",
                       "X-Shopify-API-Version": "2025-10",
                       "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"}}
SAMPLES.update({"shopify": SHOPIFY, "gohighlevel": GHL, "hubspot": HUBSPOT})
SETTINGS.update({"shopify": {"secret": SECRET}, "gohighlevel": {"public_key": GHL_PUBLIC},
                 "hubspot": {"client_secret": HUBSPOT_SECRET, "public_url": HUBSPOT_URL,
                             "access_token": HUBSPOT_TOKEN}})
FIELD_MAPS.update({"shopify": {"note": "custom_fields.budget"},
                   "gohighlevel": {f"customFields.{GHL_BUDGET_FIELD}": "custom_fields.budget"},
                   "hubspot": {"message": "custom_fields.budget"}})
PLATFORMS.update({"shopify": "shopify", "gohighlevel": "ghl", "hubspot": "hubspot"})
