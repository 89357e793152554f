"""What a lead, an event and a request to MEGA are, and how a provider's request becomes them."""
