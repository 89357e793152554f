"""Just enough GAQL for the stand-in: the queries a reconciler sends for lead form submissions.

    SELECT <fields> FROM lead_form_submission_data
    WHERE lead_form_submission_data.submission_date_time >= 'YYYY-MM-DD HH:MM:SS'
      [AND lead_form_submission_data.submission_date_time <= '…']
      [AND lead_form_submission_data.asset IN ('customers/1/assets/2', …)]
    [ORDER BY lead_form_submission_data.submission_date_time [ASC|DESC]]

Times are in the account's time zone, as Google reads them. Anything else is refused with the
GAQL error Google would give (a `queryError`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

RESOURCE = "lead_form_submission_data"
# GAQL field name -> the JSON name of the REST answer
FIELDS = {"resource_name": "resourceName", "id": "id", "asset": "asset", "campaign": "campaign",
          "ad_group": "adGroup", "ad_group_ad": "adGroupAd", "asset_group": "assetGroup",
          "gclid": "gclid", "submission_date_time": "submissionDateTime",
          "lead_form_submission_fields": "leadFormSubmissionFields",
          "custom_lead_form_submission_fields": "customLeadFormSubmissionFields"}
QUERY = re.compile(r"^\s*SELECT\s+(?P<fields>.+?)\s+FROM\s+(?P<resource>\w+)"
                   r"(?:\s+WHERE\s+(?P<where>.+?))?"
                   r"(?:\s+ORDER\s+BY\s+(?P<order>.+?))?\s*$", re.I | re.S)
TIME_RULE = re.compile(rf"^{RESOURCE}\.submission_date_time\s*(>=|<=|>|<)\s*"
                       r"'(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})'$")
ASSET_RULE = re.compile(rf"^{RESOURCE}\.asset\s+IN\s*\((.*)\)$", re.I | re.S)
ORDER = re.compile(rf"^{RESOURCE}\.submission_date_time(?:\s+(ASC|DESC))?$", re.I)
QUOTED = re.compile(r"^'(customers/\d+/assets/\d+)'$")
OPERATORS = {">=": lambda t, v: t >= v, ">": lambda t, v: t > v,
             "<=": lambda t, v: t <= v, "<": lambda t, v: t < v}


class QueryError(ValueError):
    """A query the stand-in (like Google) refuses: `code` is the queryError enum value."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Query:
    fields: list[str]                                  # JSON names to answer with
    rules: list[tuple[str, float]] = field(default_factory=list)   # (operator, unix time)
    assets: set[str] | None = None                     # None: every form
    descending: bool = False

    def admits(self, unix: float, asset: str) -> bool:
        """Whether a submission at `unix` in form `asset` is selected."""
        return all(OPERATORS[op](unix, value) for op, value in self.rules) and \
            (self.assets is None or asset in self.assets)


def parse(text: str, offset_min: int) -> Query:
    """The query, its times read in an account `offset_min` minutes from UTC."""
    found = QUERY.match(text)
    if not found:
        raise QueryError("UNEXPECTED_END_OF_QUERY", "Error in query: expected SELECT … FROM ….")
    if found["resource"] != RESOURCE:
        raise QueryError("INVALID_RESOURCE_NAME",
                         f"Error in query: unsupported resource '{found['resource']}'.")
    query = Query(fields=_fields(found["fields"]))
    for rule in re.split(r"\s+AND\s+", found["where"] or "", flags=re.I) if found["where"] else []:
        _rule(query, rule.strip(), offset_min)
    if found["order"]:
        order = ORDER.match(found["order"].strip())
        if not order:
            raise QueryError("INVALID_ORDER_BY_CLAUSE",
                             f"Error in query: cannot order by '{found['order'].strip()}'.")
        query.descending = (order[1] or "").upper() == "DESC"
    return query


def _fields(text: str) -> list[str]:
    names = []
    for raw in (part.strip() for part in text.split(",")):
        prefix, _, name = raw.partition(".")
        if prefix != RESOURCE or name not in FIELDS:
            raise QueryError("UNRECOGNIZED_FIELD", f"Error in SELECT clause: unrecognized "
                                                   f"field '{raw}'.")
        names.append(FIELDS[name])
    return names


def _rule(query: Query, rule: str, offset_min: int) -> None:
    if (time_rule := TIME_RULE.match(rule)):
        query.rules.append((time_rule[1], account_time(time_rule[2], offset_min)))
        return
    if (asset_rule := ASSET_RULE.match(rule)):
        items = [QUOTED.match(item.strip()) for item in asset_rule[1].split(",")]
        if not all(items):
            raise QueryError("INVALID_VALUE_WITH_IN_OPERATOR",
                             "Error in WHERE clause: IN takes quoted asset resource names.")
        query.assets = {item[1] for item in items if item}
        return
    raise QueryError("PROHIBITED_FIELD_IN_WHERE_CLAUSE", f"Error in WHERE clause: "
                                                         f"unsupported condition '{rule}'.")


def account_time(text: str, offset_min: int) -> float:
    """A GAQL time (no offset: the account's time zone) as unix seconds."""
    zone = timezone(timedelta(minutes=offset_min))
    return datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone).timestamp()


def shown_time(unix: float, offset_min: int) -> str:
    """A submission time as the API shows it: `yyyy-mm-dd hh:mm:ss+hh:mm`, account time."""
    zone = timezone(timedelta(minutes=offset_min))
    text = datetime.fromtimestamp(unix, zone).strftime("%Y-%m-%d %H:%M:%S%z")
    return f"{text[:-2]}:{text[-2:]}"
