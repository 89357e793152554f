"""`jotform`: unsigned multipart posts with the answers as a JSON string in `rawRequest`."""

from __future__ import annotations

import json
import re
from typing import Any

from gateway.domain.sources.base import (
    Draft,
    Inbound,
    Sample,
    UnsignedSource,
    sample_contact,
)
from gateway.domain.sources.recognize import canonical, recognize
from gateway.domain.sources.settings import UrlTokenSettings
from gateway.domain.sources.signatures import parse_json, parse_multipart
from gateway.errors import BadRequest, UnsupportedMediaType

QUESTION = re.compile(r"^q\d+_(.+)$")
CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
PARTS = ("formID", "formTitle", "ip")
BOUNDARY = "------------------------leadgateSampleBoundary"


class Jotform(UnsignedSource):
    """Jotform's multipart submissions (unsigned: the URL token authenticates)."""

    name = "jotform"

    def parse(self, inbound: Inbound, settings: UrlTokenSettings) -> list[Draft]:
        """Jotform's multipart submission as one lead draft."""
        if inbound.mimetype != "multipart/form-data":
            raise UnsupportedMediaType("Jotform posts multipart/form-data")
        form = parse_multipart(inbound.body, inbound.headers.get("Content-Type", ""))
        submission_id = form.get("submissionID", "").strip()
        if not submission_id:
            raise BadRequest("not a Jotform submission: no submissionID")
        answers = parse_json(form.get("rawRequest", "").encode())
        if not isinstance(answers, dict):
            raise BadRequest("rawRequest must be a JSON object")
        values: dict[str, Any] = {name: form[name] for name in PARTS if form.get(name)}
        by_slug: dict[str, Any] = {}
        slug_of: dict[str, str] = {}
        for key, answer in answers.items():
            if not (match := QUESTION.match(key)):
                continue          # slug, path, submitSource...: Jotform's bookkeeping
            value = _value(answer)
            values[key] = value
            by_slug[_slug(match.group(1))] = value
            slug_of[_slug(match.group(1))] = key
        lead, used_slugs = recognize({**by_slug, **_names(answers)})
        used = {slug_of.get(slug) or slug_of.get(slug.split(".")[0], slug) for slug in used_slugs}
        return [Draft(event_id=submission_id, lead=lead, fields=values, used=used)]

    def sample(self, settings: UrlTokenSettings, now: float, tag: str) -> Sample:
        """A submission as Jotform posts it (multipart, rawRequest JSON)."""
        who = sample_contact(tag)
        raw = {"slug": "submit/243231271343446", "q3_name": {"first": who["first"],
                                                            "last": who["last"]},
               "q4_email": who["email"], "q5_phoneNumber": {"full": who["phone"]},
               "q6_message": "Need a quote", "path": "/submit/243231271343446"}
        parts = {"formID": "243231271343446", "submissionID": str(int(tag or "1", 16)),
                 "formTitle": "Request a Quote", "type": "WEB", "ip": "203.0.113.7",
                 "pretty": "Name:…", "rawRequest": json.dumps(raw)}
        lines = []
        for name, value in parts.items():
            lines += [f"--{BOUNDARY}", f'Content-Disposition: form-data; name="{name}"', "",
                      value]
        body = "\r\n".join([*lines, f"--{BOUNDARY}--", ""]).encode()
        return Sample(body, {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})


def _value(answer: Any) -> Any:
    """A phone arrives as {"full": ...}; a name as {"first", "last"}; others as they are."""
    if isinstance(answer, dict):
        if isinstance(answer.get("full"), str):
            return answer["full"]
        if {"first", "last"} & answer.keys():
            parts = (answer.get(p) for p in ("prefix", "first", "middle", "last", "suffix"))
            return " ".join(str(p).strip() for p in parts if isinstance(p, str) and p.strip())
    return answer


def _slug(name: str) -> str:
    """Jotform's camelCase slugs ("phoneNumber") as the snake_case names recognised."""
    return canonical(CAMEL.sub("_", name))


def _names(answers: dict[str, Any]) -> dict[str, Any]:
    """A name question whose slug says nothing ("q3_yourDetails") is still a name."""
    found = {}
    for key, answer in answers.items():
        if (match := QUESTION.match(key)) and isinstance(answer, dict) and \
                {"first", "last"} <= answer.keys():
            found[f"{_slug(match.group(1))}.name"] = _value(answer)
    return found
