"""Training: the state, the jitted step, the loop and its guards."""
