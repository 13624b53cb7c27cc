"""The dashboard: static files shipped in the package (no build step, no CDN) and the figures it labels.

``GET /`` is the page, ``/static/...`` its script, styles and the vendored uPlot; ``GET /api/figures``
serves the one table of figures (outputs/figures.py) so that the page's names and units are the ones
every other output uses.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web

from ..outputs.figures import INVERTER_FIGURES, SITE_FIGURES, Figure

STATIC_DIR = Path(__file__).parent / "static"


def figure_json(figure: Figure) -> dict[str, Any]:
    traits = figure.traits
    return {
        "key": figure.key,
        "path": figure.path,
        "phase_path": figure.phase_path,
        "kind": figure.kind.value,
        "unit": traits.unit,
        "precision": traits.precision,
        "instant": traits.instant,
        "name_fr": figure.name_fr,
        "name_en": figure.name_en,
        "device": figure.device.value,
        "needs": figure.needs.value,
        "diagnostic": figure.diagnostic,
    }


FIGURES_JSON = {
    "site": [figure_json(f) for f in SITE_FIGURES],
    "inverter": [figure_json(f) for f in INVERTER_FIGURES],
}


async def _index(_request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


async def _figures(_request: web.Request) -> web.Response:
    return web.json_response(FIGURES_JSON)


def add_dashboard_routes(app: web.Application) -> None:
    app.router.add_get("/", _index)
    app.router.add_get("/api/figures", _figures)
    app.router.add_static("/static/", STATIC_DIR)
