"""GET /metrics from the running daemon, parsed by prometheus_client's own text parser: every figure of
the table, per phase and per inverter, and the service's health (poll latency, reads, outputs)."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from daemon_helpers import daemon_config, running, wait_until
from enphase_secure.actions.mqtt import MqttBroker
from enphase_secure.outputs.figures import INVERTER_FIGURES, SITE_FIGURES, Kind, stage_figure
from enphase_secure.outputs.metrics import metric_name
from enphase_secure.simulator.live import load_scenario_source
from enphase_secure.simulator.server import run_simulator


async def _scrape(url: str) -> tuple[str, str]:
    async with aiohttp.ClientSession() as http, http.get(f"{url}/metrics") as resp:
        assert resp.status == 200
        return resp.headers["Content-Type"], await resp.text()


async def test_metrics_has_every_figure_and_the_service_health(tmp_path: Path, mosquitto: MqttBroker) -> None:
    source = load_scenario_source("three-phase-battery", speed=60)
    async with run_simulator(source) as sim:
        config = daemon_config(
            sim,
            tmp_path,
            timezone="Europe/Paris",
            publish={"mqtt": {"host": mosquitto.host, "port": mosquitto.port}},
            control={
                "stages": [
                    {
                        "name": "Water heater",
                        "start_above_w": 100000,
                        "stop_below_w": 0,
                        "on": {"command": {"argv": ["true"]}},
                        "off": {"command": {"argv": ["true"]}},
                    }
                ]
            },
        )
        async with running(config, clock=source.now) as daemon:
            await wait_until(
                lambda: (
                    (s := daemon.latest_snapshot()) is not None
                    and not s.staleness.stale
                    and bool(s.inverters)
                    and daemon.status()["outputs"]["mqtt"]["published"] >= 2
                )
            )
            # a stage's state is known once a switching is confirmed: switch it on by hand
            await daemon.set_control_mode("Water heater", "on")
            await wait_until(lambda: daemon.control_view()["stages"][0]["state"]["confirmed_on"] is True)
            assert daemon.web_url is not None
            content_type, text = await _scrape(daemon.web_url)
            inverters = daemon.latest_snapshot().to_json()["inverters"]  # type: ignore[union-attr]
    assert content_type.startswith("text/plain; version=")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {f.name: f.samples for f in families.values()}

    # every figure of the table, with a value (this site has a net CT, a battery, 3 phases)
    for figure in SITE_FIGURES:
        # the text format shows an info metric as a gauge named ..._info (value 1, the text in a label)
        name = metric_name(figure) + ("_info" if figure.kind is Kind.TEXT else "")
        assert samples.get(name), f"{figure.key}: no {name}"
        expected = "counter" if figure.kind is Kind.ENERGY_LIFETIME and not figure.signed else "gauge"
        assert families[name].type == expected, name
        if figure.phase_path is not None:
            phases = {s.labels["phase"] for s in samples[metric_name(figure, per_phase=True)]}
            assert phases == {"1", "2", "3"}, figure.key
    for figure in INVERTER_FIGURES:  # every one declared; a sample for each inverter that has it
        name = metric_name(figure, scope="inverter")
        known = {i["serial"] for i in inverters if i[figure.path] is not None}
        assert {s.labels["serial"] for s in families[name].samples} == known, name
    assert families["enphase_inverter_max_power_watts"].samples  # this early morning: max, day, report age
    assert families["enphase_inverter_report_age_seconds"].samples
    stage = families["enphase_stage_on"].samples
    assert [(s.labels["stage"], s.value) for s in stage] == [("Water heater", 1.0)]
    assert {"enphase_stage_runtime_today_seconds", "enphase_stage_energy_today_watt_hours"} <= set(families)
    assert stage_figure(1).kind is Kind.STATE

    # Prometheus names: base units, _total on counters
    assert "enphase_grid_import_lifetime_watt_hours_total" in text
    assert "enphase_net_consumption_lifetime_watt_hours_total" not in text  # it falls: a gauge
    assert 'enphase_grid_import_per_phase_watts{phase="2"}' in text
    assert families["enphase_production_power_watts"].samples[0].value >= 0
    assert families["enphase_gateway_online"].samples[0].value == 1.0
    assert families["enphase_firmware_info"].samples[0].labels["firmware"]
    # base units: seconds of token validity left (not days), a 0-1 ratio for the battery (not %)
    assert families["enphase_token_validity_seconds"].samples[0].value > 86400
    assert 0 <= families["enphase_battery_soc_ratio"].samples[0].value <= 1
    misnamed = [n for n in families if re.search(r"_(percent|pct|days|days_left|hours|h)$", n)]
    assert [n for n in misnamed if not n.endswith("_watt_hours")] == []
    assert families["enphase_inverter_last_report_timestamp_seconds"].samples[0].value > 1.7e9

    # the service's own health
    latency = {
        s.name: s for s in families["enphase_poll_duration_seconds"].samples if s.labels["loop"] == "fast"
    }
    assert latency["enphase_poll_duration_seconds_count"].value >= 2
    assert 0 < latency["enphase_poll_duration_seconds_sum"].value < 60
    reads = {s.labels["loop"]: s.value for s in families["enphase_poll_reads"].samples}
    assert reads["fast"] >= 2
    assert {s.labels["loop"] for s in families["enphase_poll_skipped_ticks"].samples} >= {"fast", "info"}
    outputs = {s.labels["output"]: s.value for s in families["enphase_output_connected"].samples}
    assert outputs == {"mqtt": 1.0, "dashboard": 1.0}  # the dashboard's stream is an output too

    def of_mqtt(name: str) -> float:
        return next(s.value for s in families[name].samples if s.labels["output"] == "mqtt")

    assert of_mqtt("enphase_output_published") >= 2
    assert of_mqtt("enphase_output_dropped_busy") >= 0
    assert of_mqtt("enphase_output_last_publish_timestamp_seconds") > 1.7e9
    assert families["enphase_snapshot_stale"].samples[0].value == 0.0
