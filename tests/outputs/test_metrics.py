"""The Prometheus families of the figures table (pure): a counter only where the figure never falls."""

from __future__ import annotations

import pytest
from sample_updates import SITES

from enphase_secure.outputs.metrics import figure_metrics


@pytest.mark.parametrize(
    ("name", "kind"),
    [("enphase_net_consumption_lifetime_watt_hours", "gauge"),  # import - export: falls while exporting
     ("enphase_net_consumption_lifetime_per_phase_watt_hours", "gauge"),
     ("enphase_net_consumption_today_watt_hours", "gauge"),
     ("enphase_consumption_gateway_today_watt_hours", "gauge"),
     ("enphase_grid_import_lifetime_watt_hours", "counter"),
     ("enphase_production_lifetime_watt_hours", "counter"),
     ("enphase_consumption_lifetime_watt_hours", "counter")],
)  # fmt: skip
def test_only_figures_that_never_fall_are_counters(name: str, kind: str) -> None:
    families = {f.name: f for f in figure_metrics(SITES["3 phases, net CT, battery"])}
    assert families[name].type == kind
