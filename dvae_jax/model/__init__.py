"""The networks and their losses: pure functions of arrays."""
