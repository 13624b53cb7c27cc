"""The readings' bulk path (every measurement checked at once) against the field-by-field path.

The bulk path takes what gateways write; anything else goes field by field, which converts integer
numbers, reads absent or null optional members and names the culprit of a bad answer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from enphase_secure.errors import GatewayResponseError
from enphase_secure.gateway.fields import decode_json, finite_floats, parse_json
from enphase_secure.gateway.meters import READINGS_PATH, MeterReadings, readings_in_bulk
from enphase_secure.simulator.live import BUILTIN_SCENARIOS, load_scenario_source

NOON = datetime(2026, 6, 21, 11, tzinfo=UTC)
ABSENT = object()


def measurement(power: Any = 120.5, **changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "activePower": power,
        "actEnergyDlvd": 1000.25,
        "actEnergyRcvd": 3.5,
        "voltage": 231.2,
        "current": 0.6,
        "pwrFactor": 0.87,
        "freq": 50.0,
        "reactivePower": 10.5,
        "apparentPower": 139.1,
        **changes,
    }
    return {k: v for k, v in value.items() if v is not ABSENT}


def ct(eid: Any = 7, *, channels: Any = ABSENT, **changes: Any) -> dict[str, Any]:
    value = {"eid": eid, "timestamp": 1781992651, **measurement(**changes)}
    value["channels"] = [measurement(60.25), measurement(60.25)] if channels is ABSENT else channels
    return value


def field_by_field(body: bytes) -> MeterReadings:
    return MeterReadings.from_node(parse_json(READINGS_PATH, body))


def simulated_bodies() -> list[tuple[str, bytes]]:
    bodies = []
    for name in BUILTIN_SCENARIOS:
        document = load_scenario_source(name, start=NOON, paused=True).document(READINGS_PATH, {})
        assert document is not None
        bodies.append((name, document.body))
    return bodies


def assert_bulk_as_field_by_field(body: bytes) -> None:
    assert readings_in_bulk(orjson.loads(body)) is not None
    bulk = MeterReadings.from_json(body)
    assert bulk == field_by_field(body)
    assert repr(bulk) == repr(field_by_field(body))  # -0.0 and 0.0 told apart too


@pytest.mark.parametrize(("name", "body"), simulated_bodies())
def test_simulated_readings_take_the_bulk_path_with_the_same_result(name: str, body: bytes) -> None:
    assert_bulk_as_field_by_field(body)


def test_captured_readings_take_the_bulk_path_with_the_same_result(fixtures_dir: Path) -> None:
    bodies = [path.read_bytes() for path in sorted(fixtures_dir.glob("*/ivp_meters_readings"))]
    lists = [body for body in bodies if isinstance(json.loads(body), list)]
    assert len(lists) >= 15
    for body in lists:
        assert_bulk_as_field_by_field(body)


OTHER_SHAPES = [
    pytest.param([ct(power=120)], id="integer power"),
    pytest.param([ct(channels=[measurement(0)])], id="integer in a channel"),
    pytest.param([ct(voltage=ABSENT)], id="no voltage"),
    pytest.param([ct(reactivePower=None, apparentPower=None)], id="null optional members"),
    pytest.param([{**ct(), "channels": None}], id="null channels"),
    pytest.param([{k: v for k, v in ct().items() if k != "channels"}], id="no channels"),
    pytest.param([{k: v for k, v in ct().items() if k != "timestamp"}], id="no timestamp"),
    pytest.param([ct(power=-0.0), ct(8, power=1e308, actEnergyDlvd=1e308)], id="-0.0 and a sum past 1e308"),
    pytest.param([], id="no CT"),
]


@pytest.mark.parametrize("document", OTHER_SHAPES)
def test_other_shapes_read_as_field_by_field(document: Any) -> None:
    body = json.dumps(document).encode()
    readings = MeterReadings.from_json(body)
    assert repr(readings) == repr(field_by_field(body))
    for reading in readings.cts:
        for m in (reading.total, *reading.channels):
            assert type(m.power_w) is float
            assert type(m.energy_delivered_wh) is float


def test_integers_become_floats_and_absent_members_none() -> None:
    body = json.dumps([ct(power=120, voltage=ABSENT, channels=[measurement(0, voltage=None)])]).encode()
    readings = MeterReadings.from_json(body)
    assert readings_in_bulk(orjson.loads(body)) is None
    total, channel = readings.cts[0].total, readings.cts[0].channels[0]
    assert (repr(total.power_w), total.voltage_v) == ("120.0", None)
    assert (repr(channel.power_w), channel.voltage_v) == ("0.0", None)


def test_members_the_merge_does_not_read_are_neither_needed_nor_checked() -> None:
    unread = {"reactivePower": "n/a", "apparentPower": None, "reactEnergyLagg": True}
    channel = {k: v for k, v in measurement(60.25).items() if k not in ("current", "pwrFactor", "freq")}
    body = json.dumps([ct(channels=[{**channel, **unread}], **unread)]).encode()
    assert readings_in_bulk(orjson.loads(body)) is not None
    assert_bulk_as_field_by_field(body)
    readings = MeterReadings.from_json(body)
    assert readings.cts[0].total.power_factor == 0.87
    assert readings.cts[0].channels[0].voltage_v == 231.2


BAD = [
    (b'[{"eid": 7, "activePower": NaN}]', "[0].activePower"),
    (b'[{"eid": 7, "activePower": 1e999}]', "[0].activePower"),
    ([ct(power=float("inf"))], "[0].activePower"),
    (
        [ct(channels=[measurement(), measurement(actEnergyRcvd=float("-inf"))])],
        "[0].channels[1].actEnergyRcvd",
    ),
    ([ct(power=1e308, actEnergyDlvd="1")], "[0].actEnergyDlvd"),
    ([ct(channels=[measurement(True)])], "[0].channels[0].activePower"),
    ([ct(channels=[measurement(), measurement("60")])], "[0].channels[1].activePower"),
    ([ct(channels=[measurement(actEnergyDlvd=ABSENT)])], "[0].channels[0].actEnergyDlvd"),
    ([ct(channels=[measurement(voltage="230")])], "[0].channels[0].voltage"),
    ([ct(channels={"0": measurement()})], "[0].channels"),
    ([ct(channels=[7])], "[0].channels[0]"),
    ([ct(eid=7.0)], "[0].eid"),
    ([ct(eid=True)], "[0].eid"),
    ([ct(eid=None)], "[0].eid"),
    ([{**ct(), "timestamp": 1.5}], "[0].timestamp"),
    ([ct(), "x"], "[1]"),
    (b'{"eid": 7}', "<root>"),
]


@pytest.mark.parametrize(("document", "field"), BAD)
def test_bad_answers_name_the_culprit(document: Any, field: str) -> None:
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    with pytest.raises(GatewayResponseError) as caught:
        MeterReadings.from_json(body)
    assert caught.value.endpoint == READINGS_PATH
    assert caught.value.field == field
    assert field in str(caught.value)


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (b'\xef\xbb\xbf[{"a": 1.5}]', [{"a": 1.5}]),  # a BOM
        ('[{"a": 1.5}]'.encode("utf-16"), [{"a": 1.5}]),
        (b"[NaN]", None),
        (b"[1e999]", [float("inf")]),
        (b'{"a": [1, 2.25, "x", null, true]}', {"a": [1, 2.25, "x", None, True]}),
    ],
)
def test_decode_reads_what_json_reads(body: bytes, value: Any) -> None:
    decoded = decode_json(READINGS_PATH, body)
    if value is None:
        assert decoded[0] != decoded[0]  # NaN: refused later, by the field that holds it
    else:
        assert decoded == value


@pytest.mark.parametrize("body", [b"", b"[{trunc", b"\xff\xfe\x00", b"[1] x"])
def test_decode_refuses_what_is_not_json(body: bytes) -> None:
    with pytest.raises(GatewayResponseError, match=r"/ivp/meters/readings: not JSON"):
        decode_json(READINGS_PATH, body)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ((1.5, -0.0, 2e10), True),
        ((), True),
        ((1.5, 1), False),
        ((1.5, True), False),
        ((1.5, None), False),
        ((1.5, "1.5"), False),
        ((1.5, float("nan")), False),
        ((float("inf"), 1.0), False),
        ((float("inf"), float("-inf")), False),
        ((1e308, 1e308), False),  # finite values whose sum is not: left to the one-by-one check
    ],
)
def test_finite_floats(values: tuple[Any, ...], expected: bool) -> None:
    assert finite_floats(values) is expected
