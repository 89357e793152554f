"""Provider adapters, by the `source` name routes use."""

from gateway.sources.base import Draft, Inbound, Sample, Source
from gateway.sources.generic import Generic
from gateway.sources.google import GoogleLeadForms
from gateway.sources.intercom import Intercom
from gateway.sources.jotform import Jotform
from gateway.sources.livechat import LiveChat
from gateway.sources.meta import MetaLeadAds
from gateway.sources.standard_webhooks import StandardWebhooks
from gateway.sources.tally import Tally
from gateway.sources.typeform import Typeform
from gateway.sources.unbounce import Unbounce
from gateway.sources.webflow import Webflow

SOURCES: dict[str, Source] = {source.name: source for source in (
    Generic(), MetaLeadAds(), GoogleLeadForms(), Typeform(), Webflow(), Unbounce(), Jotform(),
    Tally(), Intercom(), LiveChat(), StandardWebhooks())}

__all__ = ["SOURCES", "Draft", "Inbound", "Sample", "Source"]
