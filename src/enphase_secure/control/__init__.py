"""Self-consumption controller: pure step function and its state."""
