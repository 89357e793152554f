"""Provider adapters, by the `source` name routes use."""

from typing import Any

from gateway.domain.sources.base import Draft, Inbound, Sample, Source
from gateway.domain.sources.providers.crm.gohighlevel import HighLevel
from gateway.domain.sources.providers.crm.hubspot import HubSpot
from gateway.domain.sources.providers.crm.shopify import Shopify
from gateway.domain.sources.providers.generic import Generic
from gateway.domain.sources.providers.google import GoogleLeadForms
from gateway.domain.sources.providers.intercom import Intercom
from gateway.domain.sources.providers.jotform import Jotform
from gateway.domain.sources.providers.livechat import LiveChat
from gateway.domain.sources.providers.messages.callrail import CallRail
from gateway.domain.sources.providers.messages.mailgun import Mailgun
from gateway.domain.sources.providers.messages.twilio import Twilio
from gateway.domain.sources.providers.meta import MetaLeadAds
from gateway.domain.sources.providers.standard_webhooks import StandardWebhooks
from gateway.domain.sources.providers.tally import Tally
from gateway.domain.sources.providers.typeform import Typeform
from gateway.domain.sources.providers.unbounce import Unbounce
from gateway.domain.sources.providers.webflow import Webflow

SOURCES: dict[str, Source[Any]] = {source.name: source for source in (
    Generic(), MetaLeadAds(), GoogleLeadForms(), Typeform(), Webflow(), Unbounce(), Jotform(),
    Tally(), Intercom(), LiveChat(), StandardWebhooks())}
SOURCES.update({source.name: source for source in (CallRail(), Twilio(), Mailgun())})
SOURCES.update({source.name: source for source in (Shopify(), HighLevel(), HubSpot())})

__all__ = ["SOURCES", "Draft", "Inbound", "Sample", "Source"]
