"""`shopify`: `customers/create` (and, where the route asks, `orders/create` of a new customer).

Shopify signs the raw body: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 keyed by the app's
client secret (or the secret shown under Settings > Notifications > Webhooks for a webhook made
in the admin). The customer's id is the event id, so both topics and Shopify's retries of either
are one lead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from marshmallow import fields

from gateway import defaults
from gateway.domain.sources.base import (
    Draft,
    Inbound,
    Sample,
    Source,
    sample_contact,
)
from gateway.domain.sources.recognize import flatten, recognize
from gateway.domain.sources.settings import SecretSchema, SecretSettings
from gateway.domain.sources.shape import member, scalar
from gateway.domain.sources.signatures import digest, matches_any, parse_json, require_header
from gateway.errors import BadRequest, Ignored, Unauthorized

CUSTOMER_TOPIC, ORDER_TOPIC = "customers/create", "orders/create"
KEPT = ("id", "email", "phone", "first_name", "last_name", "created_at", "tags", "note",
        "default_address", "email_marketing_consent")


class ShopifySchema(SecretSchema):
    """The schema of ShopifySettings."""

    orders = fields.Boolean(load_default=False)     # orders/create of a new customer is a lead


@dataclass(frozen=True, kw_only=True)
class ShopifySettings(SecretSettings):
    """A Shopify route's app secret, and whether a new customer's first order is a lead."""

    orders: bool = False


class Shopify(Source[ShopifySettings]):
    """Shopify's customers/create (and, per route, a new customer's orders/create)."""

    name = "shopify"
    settings_schema = ShopifySchema
    settings_type = ShopifySettings
    lead_defaults = {"source_type": "form", "source_platform": "shopify"}
    success_status = 200        # any 2xx within 5 s; Shopify retries anything else

    def sign(self, settings: ShopifySettings, body: bytes, *, stamp: str = "",
             msg_id: str = "") -> dict[str, str]:
        """Shopify's X-Shopify-Hmac-Sha256: the base64 HMAC-SHA256 of the body."""
        return {"X-Shopify-Hmac-Sha256": digest(settings.secret, body, encoding="base64")}

    def authenticate(self, inbound: Inbound, settings: ShopifySettings) -> None:
        """Check X-Shopify-Hmac-Sha256 against the raw body."""
        given = require_header(inbound.headers, "X-Shopify-Hmac-Sha256")
        expected = self.sign(settings, inbound.body)["X-Shopify-Hmac-Sha256"]
        if not matches_any(expected, [given]):
            raise Unauthorized("X-Shopify-Hmac-Sha256 does not match the body")

    def parse(self, inbound: Inbound, settings: ShopifySettings) -> list[Draft]:
        """A new customer as one lead draft, keyed by the customer's id."""
        topic = inbound.headers.get("X-Shopify-Topic", "")
        body = parse_json(inbound.body)
        if not isinstance(body, dict):
            raise BadRequest("not a Shopify webhook: the body is not an object")
        if topic == CUSTOMER_TOPIC:
            customer = body
        elif topic == ORDER_TOPIC and settings.orders:
            customer = new_customer(body)
        else:
            raise Ignored(f"topic {topic!r} carries no lead for this route")
        return [customer_draft(customer, inbound.headers.get("X-Shopify-Shop-Domain", ""))]

    def sample(self, settings: ShopifySettings, now: float, tag: str) -> Sample:
        """A customers/create webhook as Shopify sends it."""
        body = json.dumps(sample_customer(tag, now)).encode()
        return Sample(body, {"Content-Type": "application/json", **shopify_headers(
            CUSTOMER_TOPIC, now, tag), **self.sign(settings, body)})


def new_customer(order: dict[str, Any]) -> dict[str, Any]:
    """The order's customer when the order is their first (created with it); else Ignored."""
    customer = member(order, "customer", dict, "customer")
    if not customer or scalar(customer, "id", "customer.id") in (None, ""):
        raise Ignored("an order without a customer (a guest checkout) carries no lead")
    created, ordered = (_when(node.get("created_at")) for node in (customer, order))
    if created is not None and ordered is not None and \
            ordered - created > defaults.SHOPIFY_NEW_CUSTOMER_S:
        raise Ignored("the order's customer was created before it: a returning customer")
    billing = member(order, "billing_address", dict, "billing_address", {})
    return {"phone": billing.get("phone"), **{k: v for k, v in customer.items()
                                                if v not in (None, "")},
            "email": customer.get("email") or order.get("email"), "order_id": order.get("id")}


def customer_draft(customer: dict[str, Any], shop: str) -> Draft:
    """A customer object's contact, address and id as a draft."""
    customer_id = scalar(customer, "id", "id")
    if customer_id in (None, "") or isinstance(customer_id, bool):
        raise BadRequest("a Shopify customer without an id")
    values = flatten({k: customer[k] for k in (*KEPT, "order_id") if k in customer})
    if not values.get("phone"):
        values["phone"] = values.get("default_address.phone")
    values = {k: v for k, v in values.items() if v not in (None, "")}
    if shop:
        values["shop_domain"] = shop
    lead, used = recognize(values)
    return Draft(event_id=str(customer_id), lead=lead, fields=values, used=used)


def _when(value: Any) -> float | None:
    """An ISO 8601 time as unix seconds (None when absent or unreadable)."""
    try:
        return datetime.fromisoformat(str(value)).timestamp() if value else None
    except ValueError:
        return None


def _iso(now: float) -> str:
    """A time as Shopify writes it."""
    return datetime.fromtimestamp(int(now), tz=UTC).isoformat()


def shopify_headers(topic: str, now: float, tag: str) -> dict[str, str]:
    """The headers Shopify sends beside its signature."""
    return {"X-Shopify-Topic": topic, "X-Shopify-Shop-Domain": "acme-cleaning.myshopify.com",
            "X-Shopify-API-Version": "2025-10",
            "X-Shopify-Webhook-Id": f"b54557e4-bdd9-4b37-8a5f-bf7d{tag.rjust(8, '0')}",
            "X-Shopify-Triggered-At": _iso(now)}


def sample_customer(tag: str, now: float) -> dict[str, Any]:
    """A customer object as customers/create carries it."""
    who = sample_contact(tag)
    created = _iso(now)
    customer_id = 7_100_000_000_000 + int(tag or "1", 16) % 10**9
    return {"id": customer_id, "email": who["email"],
            "created_at": created, "updated_at": created, "first_name": who["first"],
            "last_name": who["last"], "orders_count": 0, "state": "disabled",
            "total_spent": "0.00", "last_order_id": None, "note": None, "verified_email": True,
            "multipass_identifier": None, "tax_exempt": False, "tags": "", "currency": "USD",
            "phone": who["phone"], "addresses": [], "tax_exemptions": [],
            "email_marketing_consent": {"state": "not_subscribed", "opt_in_level": "single_opt_in",
                                        "consent_updated_at": None},
            "sms_marketing_consent": None,
            "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}",
            "default_address": None}
