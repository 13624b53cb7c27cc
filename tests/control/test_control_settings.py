"""Validation of [control] and [[control.stages]]: unknown keys and bad values name the key path."""

from __future__ import annotations

from typing import Any

import pytest

from enphase_secure.control.settings import ControlSettings
from enphase_secure.errors import ConfigError


def heater(**extra: Any) -> dict[str, Any]:
    return {"name": "water heater", "start_above_w": 1500, "stop_below_w": 200, **extra}


def test_design_example_parses_with_its_action_tables() -> None:
    settings = ControlSettings.from_mapping(
        {
            "stages": [
                heater(
                    start_delay_s=60,
                    stop_delay_s=30,
                    min_on_s=300,
                    min_off_s=300,
                    on={"http": {"url": "http://127.0.0.1:9000/on", "method": "POST"}},
                    off={"http": {"url": "http://127.0.0.1:9000/off", "method": "POST"}},
                )
            ]
        }
    )
    (stage,) = settings.stages
    assert (stage.name, stage.start_above_w, stage.stop_below_w) == ("water heater", 1500.0, 200.0)
    assert (stage.start_delay_s, stage.stop_delay_s, stage.min_on_s, stage.min_off_s) == (60, 30, 300, 300)
    assert (stage.phase, stage.safe_state, stage.enabled, stage.load_w) == ("total", "off", True, 0.0)


def test_stages_are_ordered_by_priority_then_config_order() -> None:
    settings = ControlSettings.from_mapping(
        {
            "stages": [
                heater(name="c", priority=5),
                heater(name="a"),
                heater(name="b"),
                heater(name="d", priority=-1),
            ]
        }
    )
    assert [s.name for s in settings.stages] == ["d", "a", "b", "c"]


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"stages": [heater(), heater(start_dealy_s=3)]}, "control.stages[1].start_dealy_s: unknown key"),
        ({"stages": [heater()], "dryrun": True}, "control.dryrun: unknown key"),
        (
            {"stages": [heater(stop_below_w=1500)]},
            "control.stages[0].stop_below_w: must be below start_above_w",
        ),
        ({"stages": [{"name": "x", "stop_below_w": 1}]}, "control.stages[0].start_above_w: required"),
        ({"stages": [heater(phase=4)]}, "control.stages[0].phase: 4 is not 1, 2, 3 or 'total'"),
        ({"stages": [heater(phase=True)]}, "control.stages[0].phase"),
        (
            {"stages": [heater(start_delay_s=-1)]},
            "control.stages[0].start_delay_s: -1 is below the minimum 0",
        ),
        ({"stages": [heater(start_delay_s="60")]}, "control.stages[0].start_delay_s: expected a number"),
        (
            {"stages": [heater(min_soc_pct=101)]},
            "control.stages[0].min_soc_pct: 101 is above the maximum 100",
        ),
        ({"stages": [heater(windows=["10-12"])]}, "control.stages[0].windows[0]: '10-12' is not a window"),
        (
            {"stages": [heater(windows=["10:00-10:00"])]},
            "control.stages[0].windows[0]: '10:00-10:00' is empty",
        ),
        ({"stages": [heater(safe_state="keep")]}, "control.stages[0].safe_state: 'keep' is not one of"),
        ({"stages": [heater(), heater()]}, "control.stages[1].name: 'water heater' is used by another stage"),
        ({"stages": [heater(enabled="no")]}, "control.stages[0].enabled: expected true or false"),
        ({"stages": {"name": "x"}}, "control.stages: expected a list of tables"),
        ({"failsafe_after_s": 0}, "control.failsafe_after_s: 0 is below the minimum 1"),
    ],
)
def test_invalid_config_names_the_key(mapping: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as exc:
        ControlSettings.from_mapping(mapping)
    assert str(exc.value).startswith(message)


def test_unknown_time_zone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"site.timezone: unknown time zone 'Mars/Olympus'"):
        ControlSettings.from_mapping({}, timezone="Mars/Olympus")


def test_surplus_includes_battery_in_control_is_the_stages_default() -> None:
    settings = ControlSettings.from_mapping(
        {
            "surplus_includes_battery": True,
            "stages": [heater(), heater(name="b", surplus_includes_battery=False)],
        }
    )
    assert [s.surplus_includes_battery for s in settings.stages] == [True, False]
    assert settings.failsafe_after_s == 120.0


def test_every_stage_mistake_is_listed_at_once() -> None:
    """Like the other sections (all of pydantic's errors), [control] lists all its mistakes in one go."""
    with pytest.raises(ConfigError) as err:
        ControlSettings.from_mapping(
            {"stages": [heater(start_delay_s=-5), {**heater(phase=7), "name": "pool pump"}]}
        )
    message = str(err.value)
    assert "control.stages[0].start_delay_s" in message
    assert "control.stages[1].phase" in message
