"""Pure energy maths: snapshots, balances, day counters, inverter estimates."""
