"""The daemon's HTTP server: REST API (and later dashboard, SSE, /metrics)."""
