"""The Prometheus families of the figures table (pure): a counter only where the figure never falls."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sample_updates import SITES, T0, production_only

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


def test_token_validity_is_exact_seconds_with_a_help_that_says_so() -> None:
    left = timedelta(days=365, seconds=1234)
    update = production_only(500.0, token_expires_at=T0 + left)
    family = {f.name: f for f in figure_metrics(update)}["enphase_token_validity_seconds"]
    assert family.samples[0].value == left.total_seconds()  # not 365.0 days x 86400
    assert family.documentation == "Seconds until the gateway token expires"


def test_scaled_figures_carry_no_float_noise() -> None:
    update = SITES["1 phase, net CT, battery"]
    assert update.snapshot.storage is not None
    storage = replace(update.snapshot.storage, soc_pct=55.3)
    control = {"stages": [{"name": "Water heater", "runtime_today_h": 0.053, "state": {"on": True}}]}
    update = replace(update, snapshot=replace(update.snapshot, storage=storage), control=control)
    families = {f.name: f for f in figure_metrics(update)}
    assert families["enphase_battery_soc_ratio"].samples[0].value == 0.553  # not 0.5529999999999999
    assert families["enphase_stage_runtime_today_seconds"].samples[0].value == 190.8  # not 190.79999999999998
