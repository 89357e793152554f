"""HubSpot on the worker side: the CRM API client that reads created contacts."""
