"""Provider adapters, by the `source` name routes use."""

from gateway.sources.base import Draft, Inbound, Source
from gateway.sources.generic import Generic

SOURCES: dict[str, Source] = {source.name: source for source in (Generic(),)}

__all__ = ["SOURCES", "Draft", "Inbound", "Source"]
