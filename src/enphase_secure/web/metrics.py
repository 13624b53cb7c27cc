"""``GET /metrics``: Prometheus text exposition of the figures table and the service's health."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from ..outputs.metrics import MetricsSource


def add_metrics_route(app: web.Application, source: MetricsSource) -> None:
    """The route; prometheus_client is loaded at the first scrape (a daemon nobody scrapes starts faster)."""
    registry: CollectorRegistry | None = None

    async def metrics(_: web.Request) -> web.Response:
        nonlocal registry
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest  # noqa: PLC0415

        from ..outputs.metrics import FiguresCollector  # noqa: PLC0415

        if registry is None:
            registry = CollectorRegistry(auto_describe=False)
            registry.register(FiguresCollector(source))
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", metrics)
