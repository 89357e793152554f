"""State kept beside the events: console sessions and sign-in counts, CSV imports' records,
alert state and deliveries, reconciliation's locks and watermarks."""
