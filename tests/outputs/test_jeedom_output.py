"""What the Jeedom output sends: equipment from the figures table, only changed values, stale = empty."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiohttp import web
from sample_updates import production_only

from enphase_secure.outputs.jeedom import (
    CALLBACK_PATH,
    COMBINED,
    JeedomCallbackError,
    JeedomOutput,
    changes,
    declaration,
    plan,
)

T0 = datetime(2026, 6, 21, 12, tzinfo=UTC)


def document(
    phase_count: int = 1,
    meters: tuple[str, ...] = ("production", "net-consumption"),
    storage: bool = False,
    stale: bool = False,
    stages: int = 0,
) -> dict[str, Any]:
    return {
        "stale": stale,
        "phase_count": phase_count,
        "meters": [{"type": t} for t in meters],
        "storage": {"power_w": -800.4, "soc_pct": 55.25} if storage else None,
        "production": {"power_w": 3000.4, "phases_w": [1000.0, 1100.0, 900.4][:phase_count],
                       "lifetime_wh": 123456.7},
        "grid": {"import_w": 10.0, "phases": [{"import_w": 5.0}, {"import_w": 0.0}, {"import_w": 5.0}]},
        "voltage_v": 231.26,
        "health": {"gateway_online": not stale, "token_days_left": 300.0},
        "inverters": [{"serial": "4821", "power_w": 250.0, "max_power_w": 300.0, "today_wh": 900.0}],
        "control": {"stages": [{"name": f"s{n}", "state": {"confirmed_on": n == 1}}
                               for n in range(1, stages + 1)]},
    }  # fmt: skip


def commands(p: Any, equipment: str) -> dict[str, Any]:
    eq = next(e for e in p.equipment if e.logical_id == equipment)
    return {c.logical_id: c for c in eq.commands}


def test_single_layout_one_equipment_plus_one_per_inverter() -> None:
    p = plan(document(), "single")
    assert [e.logical_id for e in p.equipment] == [COMBINED, "4821"]
    cmds = commands(p, COMBINED)
    assert {"PwattsNow", "CwattsNowNet", "Import", "tension", "gatewayOnline"} <= set(cmds)
    assert not {"PwattsNow1", "batperc", "autoconso1"} & set(cmds)
    power = cmds["PwattsNow"]
    assert (power.type, power.sub_type, power.unit, power.generic_type, power.historized) == (
        "info", "numeric", "W", "POWER", True,
    )  # fmt: skip
    assert cmds["gatewayOnline"].sub_type == "binary"
    assert set(commands(p, "4821")) == {"Watt", "maxWatt", "calWH"}


def test_inverter_device_data_figures_only_where_the_gateway_gives_them() -> None:
    doc = document()
    doc["inverters"].append({"serial": "4822", "power_w": 240.0, "temperature_c": 41.5, "dc_voltage_v": None})
    p = plan(doc, "single")
    assert set(commands(p, "4821")) == {"Watt", "maxWatt", "calWH"}
    assert set(commands(p, "4822")) == {"Watt", "maxWatt", "calWH", "temperature"}
    batch, _ = changes(p, doc, {}, T0, refresh_s=300)
    assert batch["4822"]["temperature"] == 41.5


def test_three_phase_battery_split_layout_has_four_equipment_and_phase_commands() -> None:
    p = plan(document(phase_count=3, storage=True, stages=2), "split")
    ids = [e.logical_id for e in p.equipment]
    assert ids[:4] == ["enphasesecur_prod", "enphasesecur_conso_total", "enphasesecur_conso_net",
                       "enphasesecur_bat"]  # fmt: skip
    prod = commands(p, "enphasesecur_prod")
    assert {"PwattsNow1", "PwattsNow2", "PwattsNow3", "autoconso1", "autoconso2"} <= set(prod)
    manual = prod["autoconso2_off"]
    assert (manual.type, manual.stage, manual.mode) == ("action", "s2", "off")
    assert {"batnow", "batperc"} <= set(commands(p, "enphasesecur_bat"))
    assert declaration(p)["declare"]["remove"] == [COMBINED]


def test_no_ct_split_layout_has_production_only() -> None:
    p = plan(document(meters=("production",)), "split")
    assert [e.logical_id for e in p.equipment] == ["enphasesecur_prod", "4821"]
    assert "tension" in commands(p, "enphasesecur_prod")
    removed = declaration(p)["declare"]["remove"]
    assert set(removed) == {
        COMBINED,
        "enphasesecur_conso_net",
        "enphasesecur_conso_total",
        "enphasesecur_bat",
    }


def test_changes_only_what_changed_then_a_periodic_refresh() -> None:
    p = plan(document(stages=1), "single")
    first, sent = changes(p, document(stages=1), {}, T0, refresh_s=300)
    assert first[COMBINED]["PwattsNow"] == 3000
    assert first[COMBINED]["tension"] == 231.3
    assert first[COMBINED]["autoconso1"] == 1
    assert first["4821"] == {"Watt": 250, "maxWatt": 300, "calWH": 900}
    again, sent = changes(p, document(stages=1), sent, T0 + timedelta(seconds=1), refresh_s=300)
    assert again == {}
    moved = document(stages=1)
    moved["production"]["power_w"] = 2500.0
    later, sent = changes(p, moved, sent, T0 + timedelta(seconds=2), refresh_s=300)
    assert later == {COMBINED: {"PwattsNow": 2500}}
    refresh, _ = changes(p, moved, sent, T0 + timedelta(seconds=301), refresh_s=300)
    assert refresh[COMBINED]["PwattHoursLifetime"] == 123457  # sent at T0: due again
    assert "PwattsNow" not in refresh[COMBINED]  # sent at T0 + 2 s: not yet
    refresh, _ = changes(p, moved, sent, T0 + timedelta(seconds=302), refresh_s=300)
    assert refresh[COMBINED]["PwattsNow"] == 2500


def test_stale_gateway_empties_instant_values_never_zero() -> None:
    p = plan(document(), "single")
    _, sent = changes(p, document(), {}, T0, refresh_s=300)
    stale, sent = changes(p, document(stale=True), sent, T0 + timedelta(seconds=1), refresh_s=300)
    assert stale[COMBINED]["PwattsNow"] is None
    assert stale[COMBINED]["gatewayOnline"] == 0
    assert "PwattHoursLifetime" not in stale[COMBINED]  # energy counters keep their value
    quiet, _ = changes(p, document(stale=True), sent, T0 + timedelta(seconds=400), refresh_s=300)
    assert "PwattsNow" not in quiet.get(COMBINED, {})  # an empty value is not refreshed


class Callback:
    """A stand-in for the plugin's callback (jeeEnphasesecur.php) on loopback."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.missing: list[str] = []
        self.status = 200

    async def handle(self, request: web.Request) -> web.Response:
        if request.query.get("apikey") != "plugin-key":
            return web.Response(status=401)
        message = json.loads(await request.text())
        self.messages.append(message)
        result = {"missing": self.missing} if "values" in message else {}
        self.missing = []
        return web.json_response({"state": "ok", "result": result}, status=self.status)


@pytest.fixture
async def callback() -> AsyncIterator[tuple[Callback, str]]:
    cb = Callback()
    app = web.Application()
    app.router.add_post(CALLBACK_PATH, cb.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield cb, f"http://127.0.0.1:{port}"
    await runner.cleanup()


def output(url: str, apikey: str = "plugin-key") -> JeedomOutput:
    return JeedomOutput(url=url, apikey=apikey, layout="single", refresh_s=300, logger=logging.getLogger("t"))


async def test_adapter_declares_then_sends_values_and_declares_again_when_equipment_is_missing(
    callback: tuple[Callback, str],
) -> None:
    cb, url = callback
    out = output(url)
    await out.start()
    try:
        await out.publish(production_only(1000.0))
        await out.publish(production_only(1000.0))
        assert [next(iter(m)) for m in cb.messages] == ["declare", "values"]
        assert cb.messages[1]["values"][COMBINED]["PwattsNow"] == 1000
        cb.missing = [COMBINED]
        await out.publish(production_only(1200.0))
        await out.publish(production_only(1200.0))
        assert [next(iter(m)) for m in cb.messages] == ["declare", "values", "values", "declare", "values"]
        assert out.status()["equipment"] == 1
    finally:
        await out.stop()


async def test_adapter_errors_name_the_callback_not_the_key(callback: tuple[Callback, str]) -> None:
    _, url = callback
    out = output(url, apikey="wrong-key-123456")
    await out.start()
    try:
        with pytest.raises(JeedomCallbackError, match="HTTP 401") as caught:
            await out.publish(production_only(1000.0))
        assert "wrong-key-123456" not in str(caught.value)
        assert CALLBACK_PATH in str(caught.value)
    finally:
        await out.stop()
