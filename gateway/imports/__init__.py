"""CSV import: rows become `source: import` events, previewed by MEGA's bulk dry run and
delivered in bulk by the normal pipeline; a report per import, kept in Redis."""
