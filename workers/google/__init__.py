"""Google lead forms worker side: the Google Ads API client, submission mapping and matching."""
