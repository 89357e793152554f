"""The twin check: a capability of the sources whose one lead may reach leadgate under two ids.

Google's webhook `lead_id` need not equal the id its Ads API lists the same lead under, so a
lead that reconciliation stored may come again by webhook (or the other way round) as another
event key. Such a source checks each new lead against what it remembered of the others
(`twins`) before the store, and remembers the ones stored (`remember`) after: one interface,
implemented for webhooks on the store's side (gateway/store/google_match.py) and for listings
by the source's reconciliation (workers/capabilities.py). The one ingest path
(gateway/ingest.py) calls both; a source without twins costs no Redis round trip.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol


class Twin(NamedTuple):
    """The stored event a new lead is, and the rule that found it ("gclid", "contact")."""

    event_id: str
    rule: str


class Twins(Protocol):
    """A source's twin check. `leads` pairs what arrived (a draft, a listed item) with the id
    of the event it makes; `store` is the Store (gateway/store/store.py)."""

    def twins(self, store: Any, route: Any, leads: list[tuple[Any, str]], now: float
              ) -> dict[str, Twin]:
        """The leads that are an event stored already under another id: their id -> twin."""
        ...

    def remember(self, store: Any, route: Any, leads: list[tuple[Any, str]], now: float
                 ) -> None:
        """Keep the leads just stored findable by a twin that comes later."""
        ...
