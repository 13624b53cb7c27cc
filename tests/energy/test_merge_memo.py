"""merge_snapshot remembers what comes from the slow reads (inverters, ensemble, gateway identity, the
phase layout) by identity: a sequence of readings whose slow parts change now and then merges to the
same snapshots whatever the order, so nothing remembered outlives the reading it came from."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from site_run import SourceTransport

from enphase_secure.energy.merge import GatewayReadings, PhaseSetting, merge_snapshot
from enphase_secure.gateway import ensemble, inverters, meters, production
from enphase_secure.gateway.probe import probe
from enphase_secure.simulator.live import load_scenario_source

START = datetime(2026, 6, 21, 9, tzinfo=UTC)


async def readings_over_time(scenario: str) -> list[GatewayReadings]:
    """Every 20 s for 10 min: new meter readings each time, the slow endpoints every 3rd time."""
    source = load_scenario_source(scenario, start=START, paused=True, step_s=1.0)
    documents = SourceTransport(source)
    readings = (await probe(documents)).readings
    sequence = []
    for n in range(30):
        source.control_clock(advance_s=20.0)
        if n % 3 == 0:
            readings = replace(
                readings,
                inverters=await inverters.read_inverters(documents) if readings.inverters else None,
                production_report=(
                    await production.read_production_report(documents, readings.info)
                    if readings.production_report
                    else None
                ),
                api_v1_production=(
                    await production.read_api_v1_production(documents) if readings.api_v1_production else None
                ),
                ensemble_power=await ensemble.read_ensemble_power(documents)
                if readings.ensemble_power
                else None,
                ensemble_status=(
                    await ensemble.read_ensemble_status(documents) if readings.ensemble_status else None
                ),
            )
        readings = replace(readings, meter_readings=await meters.read_meter_readings(documents))
        sequence.append(readings)
    return sequence


@pytest.mark.parametrize("scenario", ["three-phase-battery", "single-phase-battery", "acb", "no-ct"])
@pytest.mark.parametrize("phases", ["auto", "single"])
async def test_merge_does_not_depend_on_what_was_merged_before(scenario: str, phases: PhaseSetting) -> None:
    sequence = await readings_over_time(scenario)
    times = [START + timedelta(seconds=20 * n) for n in range(len(sequence))]
    forward = [merge_snapshot(r, time=t, phases=phases) for r, t in zip(sequence, times, strict=True)]
    backward = [
        merge_snapshot(r, time=t, phases=phases) for r, t in reversed(list(zip(sequence, times, strict=True)))
    ]
    assert forward == backward[::-1]
    assert len({s.production.power_w for s in forward}) > 1  # the figures did move
    if forward[0].inverters:
        assert len({s.inverters for s in forward}) > 1
    if forward[0].storage is not None:
        assert len({(s.storage.power_w, s.storage.soc_pct) for s in forward if s.storage}) > 1
