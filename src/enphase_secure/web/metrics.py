"""``GET /metrics``: Prometheus text exposition of the figures table and the service's health."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from ..outputs.metrics import FiguresCollector, MetricsSource


def add_metrics_route(app: web.Application, source: MetricsSource) -> None:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(FiguresCollector(source))

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", metrics)
