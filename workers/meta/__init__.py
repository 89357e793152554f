"""Meta Lead Ads on the worker side: the Graph client, listings, reconciliation, health."""
