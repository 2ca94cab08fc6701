"""From the concrete syntax tree to the sequences rules reason about."""
