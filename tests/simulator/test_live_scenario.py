"""Scenario files: the built-ins parse, a custom file loads, mistakes are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from enphase_secure.errors import ConfigError
from enphase_secure.simulator.live import BUILTIN_SCENARIOS, load_scenario_source
from enphase_secure.simulator.scenario import load_scenario, parse_scenario

MINIMAL = """
timezone = "Europe/Paris"
start = "2024-06-01T08:00:00"
phases = "three"
[gateway]
serial = "121212121212"
firmware = "8.2.127"
[cts]
production = true
consumption = "net"
[[inverters]]
count = 3
peak_w = 400
phase = 2
[load]
base_w = [100, 200, 300]
"""


def test_every_builtin_parses_with_its_own_name() -> None:
    for name in BUILTIN_SCENARIOS:
        assert load_scenario(name).name == name


def test_a_scenario_file_is_served(tmp_path: Path) -> None:
    path = tmp_path / "my-site.toml"
    path.write_text(MINIMAL)
    source = load_scenario_source(str(path), paused=True)
    assert source.scenario.name == "my-site"
    assert source.serial == "121212121212"
    assert source.scenario.gateway.firmware == "D8.2.127"
    assert source.model.phase_gain_w[0] == 0.0
    assert source.model.phase_gain_w[1] > 1000


@pytest.mark.parametrize(
    ("edit", "named"),
    [
        (MINIMAL + 'colour = "red"\n', "colour: unknown key"),
        (MINIMAL.replace("peak_w = 400", "peak_w = 400\npeek = 1"), "inverters[0].peek: unknown key"),
        (MINIMAL.replace("phase = 2", "phase = 4"), "inverters[0].phase: must be between 1 and 3"),
        (MINIMAL.replace("[100, 200, 300]", "[100]"), "load.base_w: must be an array of 3"),
        (MINIMAL.replace("Europe/Paris", "Mars/Olympus"), "timezone: unknown time zone"),
        (MINIMAL.replace('"net"', '"gross"'), "cts.consumption"),
        (MINIMAL.replace("production = true", "production = false"), "needs a production CT"),
        (MINIMAL + "[cts2]\n", "cts2: unknown key"),
        (MINIMAL.replace("121212121212", "12ab"), "gateway.serial: must be 12 digits"),
        (
            MINIMAL
            + '[battery]\nkind = "iq"\nunits = 1\ncapacity_wh = 5000\nmax_power_w = 3840\n'
            + "soc_min_pct = 150\n",
            "battery.soc_min_pct: must be between 0 and 100",
        ),
        ("phases = [", "invalid TOML"),
    ],
)
def test_mistakes_are_named(edit: str, named: str) -> None:
    with pytest.raises(ConfigError, match=r"test\.toml") as caught:
        parse_scenario(edit, source="test.toml")
    assert named in str(caught.value)


def test_unknown_name_lists_the_builtins() -> None:
    with pytest.raises(ConfigError, match="single-phase"):
        load_scenario("no-such-scenario")
