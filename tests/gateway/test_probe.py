"""probe() and the readers over HTTPS against the project's simulator serving documents written here."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest
from aiohttp import web

from enphase_secure.energy.merge import merge_snapshot
from enphase_secure.errors import GatewayAuthError, GatewayResponseError, GatewayUnreachableError
from enphase_secure.gateway.info import read_info
from enphase_secure.gateway.meters import read_meter_readings
from enphase_secure.gateway.probe import probe, quick_probe
from enphase_secure.gateway.production import read_production_report
from enphase_secure.gateway.session import GatewaySession
from enphase_secure.gateway.token import decode_token
from enphase_secure.gateway.token_manager import ManualTokens
from enphase_secure.simulator.faults import Fault, FaultKind
from enphase_secure.simulator.server import Simulator, run_simulator
from enphase_secure.simulator.source import Document

SERIAL = "122212345678"


def info_xml(firmware: str) -> bytes:
    return (
        f"<?xml version='1.0'?><envoy_info><device><sn>{SERIAL}</sn><pn>800-00654-r08</pn>"
        f"<software>{firmware}</software><imeter>true</imeter></device></envoy_info>"
    ).encode()


def channel(power: float, voltage: float = 230.0) -> dict[str, float]:
    return {"activePower": power, "actEnergyDlvd": 1000.0, "actEnergyRcvd": 10.0, "voltage": voltage}


DOCUMENTS: dict[str, Any] = {
    "/ivp/meters": [
        {
            "eid": 1,
            "state": "enabled",
            "measurementType": "production",
            "phaseMode": "split",
            "phaseCount": 2,
        },
        {
            "eid": 2,
            "state": "enabled",
            "measurementType": "net-consumption",
            "phaseMode": "split",
            "phaseCount": 2,
        },
        {"eid": 3, "state": "disabled", "measurementType": "storage", "phaseMode": "split", "phaseCount": 2},
    ],
    "/ivp/meters/readings": [
        {"eid": 2, **channel(-50.0, 460.0), "channels": [channel(-100.0), channel(50.0), channel(7.0)]},
        {"eid": 1, **channel(600.0, 460.0), "channels": [channel(300.0), channel(300.0), channel(0.0, 1.0)]},
        {"eid": 3, **channel(0.0), "channels": []},
    ],
    "/production.json": {
        "production": [{"type": "inverters", "activeCount": 2, "wNow": 590, "whLifetime": 1900}],
        "storage": [{"type": "acb", "activeCount": 0, "wNow": 0, "whNow": 0, "state": "idle"}],
    },
    "/api/v1/production": {
        "wattsNow": 590,
        "wattHoursToday": 1,
        "wattHoursSevenDays": 2,
        "wattHoursLifetime": 1900,
    },
    "/api/v1/production/inverters": [
        {
            "serialNumber": "A",
            "lastReportDate": 1780000000,
            "devType": 1,
            "lastReportWatts": 295,
            "maxReportWatts": 300,
        },
        {
            "serialNumber": "B",
            "lastReportDate": 1780000100,
            "devType": 1,
            "lastReportWatts": 295,
            "maxReportWatts": 300,
        },
    ],
    "/ivp/ensemble/inventory": [
        {"type": "ENCHARGE", "devices": [{"serial_num": "E1", "percentFull": 80, "encharge_capacity": 5000}]}
    ],
    "/ivp/ensemble/power": {"devices:": [{"serial_num": "E1", "real_power_mw": -1500000}]},
    "/ivp/ensemble/secctrl": {
        "agg_soc": 80,
        "ENC_agg_soc": 80,
        "ENC_agg_avail_energy": 4000,
        "Max_energy": 5000,
    },
}


class Documents:
    """A DocumentSource answering the documents given (JSON values, or Documents for odd answers)."""

    def __init__(self, firmware: str, documents: Mapping[str, Any]) -> None:
        self._documents = {"/info": Document(200, info_xml(firmware), "text/xml"), **documents}

    @property
    def serial(self) -> str:
        return SERIAL

    def now(self) -> datetime:
        return datetime.now(UTC)

    def document(self, path: str, query: Mapping[str, str]) -> Document | None:
        value = self._documents.get(path)
        if value is None or isinstance(value, Document):
            return value
        return Document(200, json.dumps(value).encode())

    def control_routes(self) -> Sequence[web.RouteDef]:
        return ()


@asynccontextmanager
async def gateway(
    documents: Mapping[str, Any], firmware: str = "D8.2.4382", faults: Sequence[Fault] = ()
) -> AsyncIterator[tuple[Simulator, GatewaySession]]:
    async with run_simulator(Documents(firmware, documents), faults=faults) as sim:
        tokens = ManualTokens(token=decode_token(sim.issue_token()))
        async with GatewaySession(host=sim.host, tokens=tokens, timeout_s=5.0) as session:
            yield sim, session


async def test_probe_finds_what_the_gateway_has() -> None:
    async with gateway(DOCUMENTS) as (sim, session):
        capabilities = await probe(session)
        paths = [r.path for r in sim.requests.records()]
    assert capabilities.info.serial == SERIAL
    assert capabilities.firmware_supported
    assert [ct.eid for ct in capabilities.enabled_cts] == [1, 2]
    assert len(capabilities.cts) == 3
    assert capabilities.has_ct("net-consumption")
    assert not capabilities.has_ct("storage")
    assert (capabilities.phase_mode, capabilities.phase_count) == ("split", 2)
    assert (capabilities.iq_battery_count, capabilities.acb_count, capabilities.inverter_count) == (1, 0, 2)
    assert all(e.available for e in capabilities.endpoints if e.path != "/ivp/pdm/device_data")
    assert capabilities.answers("/ivp/meters/readings")
    assert "/ivp/pdm/device_data" in paths  # asked first: this gateway has none
    assert not capabilities.answers("/ivp/pdm/device_data")
    assert capabilities.answers("/api/v1/production/inverters")
    snap = merge_snapshot(capabilities.readings, time=datetime.now(UTC))
    assert snap.production.phases_w == (300.0, 300.0)
    assert snap.net_consumption.phases_w == (-100.0, 50.0)
    assert snap.storage is not None
    assert (snap.storage.power_w, snap.storage.soc_pct) == (-1500.0, 80)


async def test_probe_lists_missing_and_malformed_endpoints_without_failing() -> None:
    broken = {k: v for k, v in DOCUMENTS.items() if not k.startswith("/ivp/ensemble")}
    broken["/ivp/meters/readings"] = [{"eid": 1, "activePower": 1.0}]
    async with gateway(broken) as (_sim, session):
        capabilities = await probe(session)
    status = {e.path: e for e in capabilities.endpoints}
    assert not status["/ivp/ensemble/inventory"].available
    assert "404" in (status["/ivp/ensemble/inventory"].problem or "")
    assert not status["/ivp/meters/readings"].available
    assert "actEnergyDlvd" in (status["/ivp/meters/readings"].problem or "")
    assert capabilities.iq_battery_count == 0
    assert capabilities.readings.meter_readings is None
    snap = merge_snapshot(capabilities.readings, time=datetime.now(UTC))
    assert snap.production.power_w == 590  # from /api/v1/production: no CT reading to use
    assert snap.net_consumption.power_w is None


async def test_probe_prefers_device_data_for_inverters() -> None:
    documents = dict(DOCUMENTS)
    documents["/ivp/pdm/device_data"] = {
        "deviceCount": 1,
        "553648384": {
            "devName": "pcu",
            "sn": "X1",
            "active": True,
            "channels": [{"watts": {"now": 120, "max": 300}, "lastReading": {"endDate": 1780000000}}],
        },
        "553648385": {"devName": "nsrb", "sn": "R1", "active": True, "channels": []},
    }
    async with gateway(documents) as (_sim, session):
        capabilities = await probe(session)
    assert capabilities.inverter_count == 1
    assert capabilities.answers("/ivp/pdm/device_data")
    assert capabilities.readings.inverters is not None
    (inverter,) = capabilities.readings.inverters.inverters
    assert (inverter.serial, inverter.power_w, inverter.last_report.timestamp()) == ("X1", 120, 1780000000)


async def test_old_firmware_is_flagged() -> None:
    async with gateway(DOCUMENTS, firmware="D5.0.62") as (_sim, session):
        capabilities = await probe(session)
    assert not capabilities.firmware_supported
    assert capabilities.info.firmware == "D5.0.62"


NO_CT = {**DOCUMENTS, "/ivp/meters": [{**ct, "state": "disabled"} for ct in DOCUMENTS["/ivp/meters"]]}
ONLY_STORAGE_CT = {
    **DOCUMENTS,
    "/ivp/meters": [
        {**ct, "state": "enabled" if ct["measurementType"] == "storage" else "disabled"}
        for ct in DOCUMENTS["/ivp/meters"]
    ],
}


@pytest.mark.parametrize(
    ("documents", "requests", "fast_path"),
    [
        # enabled CTs: their readings are the fast endpoint, not read twice (the first poll reads them)
        (DOCUMENTS, ["/ivp/meters"], "/ivp/meters/readings"),
        # no enabled production or consumption CT: the readings answer (the disabled CTs' noise) but
        # carry nothing the merge uses: /api/v1/production, else /production.json
        (NO_CT, ["/ivp/meters", "/api/v1/production"], "/api/v1/production"),
        (ONLY_STORAGE_CT, ["/ivp/meters", "/api/v1/production"], "/api/v1/production"),
        ({**NO_CT, "/ivp/meters": []}, ["/ivp/meters", "/api/v1/production"], "/api/v1/production"),
        (
            {k: v for k, v in DOCUMENTS.items() if not k.startswith(("/ivp/meters", "/api/v1/production"))},
            ["/ivp/meters", "/api/v1/production"],
            "/production.json?details=1",
        ),
    ],
)
async def test_quick_probe_reads_only_what_finds_the_fast_endpoint(
    documents: dict[str, Any], requests: list[str], fast_path: str
) -> None:
    async with gateway(documents) as (sim, session):
        info = await read_info(session)
        await session.check_token()
        sim.requests.clear()
        quick = await quick_probe(session, info)
        paths = [r.path for r in sim.requests.records()]
        full = await probe(session)
    assert paths == requests
    assert quick.fast_path == full.fast_path == fast_path  # what the full probe then says
    assert quick.info == info
    assert (quick.iq_battery_count, quick.inverter_count, quick.phase_count) == (0, None, None)  # not read


NET_CT_ONLY = {
    **DOCUMENTS,
    "/ivp/meters": [
        {**ct, "state": "enabled" if ct["measurementType"] == "net-consumption" else "disabled"}
        for ct in DOCUMENTS["/ivp/meters"]
    ],
    "/api/v1/production": {**DOCUMENTS["/api/v1/production"], "wattsNow": 480},
}


@pytest.mark.parametrize(
    ("documents", "kept", "production_w"),
    [
        (DOCUMENTS, "meter_readings", 600.0),  # the production CT
        (NO_CT, "api_v1_production", 590.0),
        # /api/v1/production (480 W), read once by the probe, would stay before the inverters block of
        # /production.json (590 W), which the slow loop reads again
        (NET_CT_ONLY, "meter_readings", 590.0),
    ],
)
async def test_probe_keeps_of_the_fast_endpoints_only_the_one_polled(
    documents: dict[str, Any], kept: str, production_w: float
) -> None:
    async with gateway(documents) as (_sim, session):
        capabilities = await probe(session)
    assert capabilities.answers("/ivp/meters/readings")
    assert capabilities.answers("/api/v1/production")
    readings = capabilities.readings
    fast = {"meter_readings": readings.meter_readings, "api_v1_production": readings.api_v1_production}
    assert [name for name, value in fast.items() if value is not None] == [kept]
    assert merge_snapshot(readings, time=datetime.now(UTC)).production.power_w == production_w


async def test_quick_probe_refused_everywhere_raises() -> None:
    refused = Document(401, b"<html>401 Authorization Required</html>", "text/html")
    async with gateway(dict.fromkeys(DOCUMENTS, refused)) as (_sim, session):
        info = await read_info(session)
        with pytest.raises(GatewayAuthError, match="no endpoint but /info accepts the token"):
            await quick_probe(session, info)


async def test_endpoint_refusing_the_token_is_listed_and_all_refusing_raises() -> None:
    refused = Document(401, b"<html>401 Authorization Required</html>", "text/html")
    documents = {**DOCUMENTS, "/ivp/ensemble/power": refused}
    async with gateway(documents) as (_sim, session):
        capabilities = await probe(session)
    power = next(e for e in capabilities.endpoints if e.path == "/ivp/ensemble/power")
    assert not power.available
    assert (power.problem or "").startswith("refused")
    assert capabilities.readings.ensemble_power is None
    async with gateway(dict.fromkeys(DOCUMENTS, refused)) as (_sim, session):
        with pytest.raises(GatewayAuthError, match="no endpoint but /info accepts the token"):
            await probe(session)


async def test_unreachable_gateway_is_raised() -> None:
    async with gateway(DOCUMENTS) as (sim, _session):
        host = sim.host
    tokens = ManualTokens(token=decode_token(_any_token()))
    async with GatewaySession(host=host, tokens=tokens, timeout_s=2.0) as session:
        with pytest.raises(GatewayUnreachableError):
            await probe(session)


def _any_token() -> str:
    # A syntactically valid token; the gateway is gone before it is ever sent.
    return jwt.encode({"aud": SERIAL, "exp": 4102444800, "enphaseUser": "owner"}, "k" * 32, algorithm="HS256")


@pytest.mark.parametrize("kind", [FaultKind.TRUNCATED_JSON, FaultKind.INVALID_JSON])
async def test_readers_turn_broken_json_into_response_errors(kind: FaultKind) -> None:
    faults = [Fault(kind=kind, paths=("/ivp/meters/readings",))]
    async with gateway(DOCUMENTS, faults=faults) as (_sim, session):
        with pytest.raises(GatewayResponseError) as caught:
            await read_meter_readings(session)
        assert caught.value.endpoint == "/ivp/meters/readings"
        report = await read_production_report(session)
    assert report.inverters is not None
    assert report.inverters.power_w == 590


async def test_fast_read_is_one_request() -> None:
    async with gateway(DOCUMENTS) as (sim, session):
        await read_meter_readings(session)
        sim.requests.clear()
        readings = await read_meter_readings(session)
        records = sim.requests.records()
    assert [r.path for r in records] == ["/ivp/meters/readings"]
    assert readings.by_eid(1) is not None
