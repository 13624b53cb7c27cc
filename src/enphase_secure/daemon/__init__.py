"""The service: polling loops, state, hot reload and the HTTP API wired together."""
