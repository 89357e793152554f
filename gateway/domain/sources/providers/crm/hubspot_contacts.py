"""HubSpot contacts as leads: the enrichment step that reads a created contact from the CRM API
(`GET /crm/v3/objects/contacts/{id}`), and the one reading of a contact's properties, whichever
shape carries them (the CRM API's, a workflow webhook's with every property, or a workflow
webhook's own keys)."""

from __future__ import annotations

from typing import Any

from gateway.domain.sources.base import Draft
from gateway.domain.sources.providers.meta_leads import GraphLeads
from gateway.domain.sources.recognize import flatten, recognize
from gateway.errors import BadRequest

# the properties the CRM API read asks for (a route maps any of them with [fields])
CONTACT_FIELDS = ("email", "firstname", "lastname", "phone", "mobilephone", "company", "website",
                  "address", "city", "state", "zip", "country", "jobtitle", "message",
                  "lifecyclestage", "hs_lead_status", "hs_analytics_source",
                  "hs_analytics_source_data_1", "hs_analytics_source_data_2", "createdate")
ID_KEYS = ("hs_object_id", "canonical-vid", "vid", "objectId", "id")
PHONES = ("phone", "mobilephone")


def properties(contact: dict[str, Any]) -> dict[str, Any]:
    """A contact's properties by name: {"properties": {name: value or {"value": ...}}} or the
    object's own keys."""
    props = contact.get("properties")
    if not isinstance(props, dict):
        return {k: v for k, v in contact.items() if not isinstance(v, dict | list)}
    return {name: value.get("value") if isinstance(value, dict) else value
            for name, value in props.items()}


def contact_id(contact: dict[str, Any], props: dict[str, Any]) -> str:
    """The contact's record id, from the properties or the object; else a 400."""
    for node in (props, contact):
        for key in ID_KEYS:
            value = node.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value)
    raise BadRequest("a HubSpot contact without its record id (include hs_object_id, the "
                     "\"Record ID\" property, in the webhook)")


def contact_draft(contact: dict[str, Any], known: dict[str, Any] | None = None) -> Draft:
    """A contact as a lead draft: HubSpot's property names recognised, its id the event id."""
    props = properties(contact)
    record = contact_id(contact, props)
    values = {**(known or {}), **{k: v for k, v in flatten(props).items()
                                  if v not in (None, "")}}
    lead, used = recognize(values)
    if "contact_phone" not in lead and (name := next((p for p in PHONES if values.get(p)), "")):
        lead["contact_phone"], used = values[name], used | {name}
    return Draft(event_id=record, lead=lead, fields=values, used=used)


class HubSpotContacts(GraphLeads):
    """Read each created contact by id from the CRM API, as Meta's leads are read from Graph;
    a contact HubSpot says does not exist is set aside."""

    def access(self, settings: Any) -> tuple[str, str]:
        """HubSpot's API URL and the private app's access token."""
        return settings.api_url, settings.access_token


def enriched_draft(contact_id: str, known: dict[str, Any], contact: dict[str, Any]) -> Draft:
    """A contact the CRM API returned, beside its webhook's fields."""
    return contact_draft(contact, known)
