"""Sources for the CRMs and the shop MEGA's customers run on (HubSpot, HighLevel, Shopify),
behind sources.base.Source like the providers beside them."""
