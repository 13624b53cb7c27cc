"""Outputs (DESIGN.md §6): one bus, adapters that keep only the latest update, one table of figures."""
