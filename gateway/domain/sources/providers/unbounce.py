"""`unbounce`: unsigned form posts with the lead as a JSON string in `data.json`."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from gateway.domain.sources.base import (
    Draft,
    Inbound,
    Sample,
    UnsignedSource,
    sample_contact,
)
from gateway.domain.sources.recognize import recognize
from gateway.domain.sources.settings import UrlTokenSettings
from gateway.domain.sources.signatures import parse_form, parse_json, stable_hash
from gateway.errors import BadRequest, UnsupportedMediaType

PAGE_FIELDS = ("page_id", "page_name", "page_url", "variant")


class Unbounce(UnsignedSource):
    """Unbounce's form posts (unsigned: the URL token authenticates)."""

    name = "unbounce"

    def parse(self, inbound: Inbound, settings: UrlTokenSettings) -> list[Draft]:
        """Unbounce's form post (the lead as JSON in its data.json field) as one lead draft."""
        if inbound.mimetype != "application/x-www-form-urlencoded":
            raise UnsupportedMediaType("Unbounce posts application/x-www-form-urlencoded")
        form = parse_form(inbound.body)
        raw = form.get("data.json")
        if not isinstance(raw, str):
            raise BadRequest("not an Unbounce submission: no data.json field")
        data = parse_json(raw.encode())
        if not isinstance(data, dict):
            raise BadRequest("data.json must be a JSON object")
        values = {str(k): _unwrap(v) for k, v in data.items()}
        page = {name: form[name] for name in PAGE_FIELDS if isinstance(form.get(name), str)}
        for name, value in page.items():
            values.setdefault(name, value)
        # Unbounce sends no submission id: the page, the variant, the answers and the
        # submission's date and time (all inside data.json) identify it.
        identity = {"page_id": page.get("page_id", values.get("page_uuid")),
                    "variant": page.get("variant", values.get("variant")), "data": data}
        lead, used = recognize(values)
        return [Draft(event_id=stable_hash(identity), lead=lead, fields=values, used=used)]

    def sample(self, settings: UrlTokenSettings, now: float, tag: str) -> Sample:
        """A form submission as Unbounce posts it."""
        who = sample_contact(tag)
        page_id = "7648177d-7323-4330-b4f9-9951a52138b6"
        data = {"full_name": [who["name"]], "email": [who["email"]],
                "phone_number": [who["phone"]], "ip_address": ["203.0.113.7"],
                "page_uuid": [page_id], "variant": ["b"], "time_submitted": ["11:45 AM UTC"],
                "date_submitted": ["2026-05-01"], "page_url": ["https://promo.example.com/"],
                "page_name": ["Spring Promo"]}
        body = urlencode({"page_id": page_id, "page_name": "Spring Promo", "variant": "b",
                          "page_url": "https://promo.example.com/",
                          "data.json": json.dumps(data), "data.xml": "<form_data/>"})
        return Sample(body.encode(), {"Content-Type": "application/x-www-form-urlencoded"})


def _unwrap(value: Any) -> Any:
    """Every value arrives as a list of strings; one-element lists become the string."""
    if isinstance(value, list) and len(value) == 1:
        return value[0]
    return value
