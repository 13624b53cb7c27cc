"""A fake IQ Gateway and Enlighten/Entrez cloud, for the demo, tests and benchmarks."""
