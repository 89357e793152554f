"""MEGA's push-leads API: its contract, and the client that calls it."""
