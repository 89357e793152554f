"""Provider adapters, by the `source` name routes use."""

from gateway.sources.base import Draft, Inbound, Source
from gateway.sources.generic import Generic
from gateway.sources.standard_webhooks import StandardWebhooks
from gateway.sources.tally import Tally
from gateway.sources.typeform import Typeform

SOURCES: dict[str, Source] = {
    source.name: source for source in (Generic(), StandardWebhooks(), Typeform(), Tally())}

__all__ = ["SOURCES", "Draft", "Inbound", "Source"]
