"""One module per provider, behind sources.base.Source."""
