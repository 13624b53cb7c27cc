"""The plugin's config page (the original's keys) mapped to the daemon's configuration."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from enphase_secure.errors import ConfigError
from enphase_secure.jeedom.plugin_config import config_data, load_plugin_config

JEEDOM = {"url": "http://127.0.0.1:8765", "apikey": "plugin-key-0123456789"}
DAEMON = {"listen": "127.0.0.1:55061", "state_dir": "/tmp/x", "timezone": "Europe/Paris"}


def document(**plugin: Any) -> dict[str, Any]:
    base = {"ctoken": "auto", "user": "me@example.com", "password": "s3cret-pass", "ip": "192.168.1.50"}
    return {"plugin": {**base, **plugin}, "jeedom": JEEDOM, "daemon": DAEMON}


def test_the_originals_keys_keep_their_meaning() -> None:
    data = config_data(document(serie="122212345678", typereseau="tri", widget="3", delais="2"))
    assert data["gateway"] == {
        "host": "192.168.1.50",
        "token_mode": "auto",
        "serial": "122212345678",
        "username": "me@example.com",
        "password": "s3cret-pass",
    }
    assert data["polling"] == {"interval_s": 2.0}
    assert data["site"] == {"phases": "three", "timezone": "Europe/Paris"}
    assert data["publish"]["layout"] == "split"
    assert data["publish"]["jeedom"] == JEEDOM
    # the plugin's key is also the daemon's API token: the plugin's manual commands send it
    assert data["web"] == {"listen": "127.0.0.1:55061", "token": JEEDOM["apikey"]}
    assert "control" not in data


@pytest.mark.parametrize(
    ("keys", "phases", "layout"),
    [({}, "auto", "single"), ({"typereseau": "mono", "widget": "1"}, "single", "single")],
)
def test_defaults_and_mono(keys: dict[str, str], phases: str, layout: str) -> None:
    data = config_data(document(**keys))
    assert data["site"]["phases"] == phases
    assert data["publish"]["layout"] == layout


def test_manual_token_mode() -> None:
    data = config_data(document(ctoken="manu", token="eyJ.token", user="", password=""))
    assert data["gateway"]["token_mode"] == "manual"
    assert data["gateway"]["token"] == "eyJ.token"
    assert "password" not in data["gateway"]


def test_stages_from_the_originals_thresholds_and_commands_plus_ours() -> None:
    data = config_data(
        document(
            autoconso="oui",
            wattsautoconso1on="1500",
            wattsautoconso1off="200",
            cmdautoconso1on="#41#",
            cmdautoconso1off="#42#",
            wattsautoconso2on="3000,5",
            wattsautoconso2off="500",
            cmdautoconso2on="43",
            delaiautoconso2on="90",
            minautoconso2on="600",
            prioriteautoconso2="2",
            socautoconso2="80",
        )
    )
    first, second = data["control"]["stages"]
    assert first == {
        "name": "autoconso1",
        "start_above_w": 1500.0,
        "stop_below_w": 200.0,
        "on": {"jeedom": {"cmd_id": 41}},
        "off": {"jeedom": {"cmd_id": 42}},
    }
    assert second["start_above_w"] == 3000.5
    assert second["start_delay_s"] == 90.0
    assert second["min_on_s"] == 600.0
    assert second["priority"] == 2
    assert second["min_soc_pct"] == 80.0
    assert "off" not in second


def test_stages_are_off_unless_autoconso_is_oui() -> None:
    data = config_data(document(autoconso="non", wattsautoconso1on="1500", wattsautoconso1off="200"))
    assert "control" not in data


@pytest.mark.parametrize(
    ("keys", "culprit"),
    [
        ({"ip": ""}, "ip"),
        ({"password": ""}, "user / password"),
        ({"ctoken": "manu"}, "token"),
        ({"ctoken": "maybe"}, "ctoken"),
        ({"typereseau": "bi"}, "typereseau"),
        ({"widget": "2"}, "widget"),
        ({"delais": "0.5"}, "delais"),
        ({"delais": "vite"}, "delais"),
        ({"autoconso": "oui", "wattsautoconso1on": "1500", "cmdautoconso1on": "#41#"}, "wattsautoconso1off"),
        ({"autoconso": "oui", "wattsautoconso1on": "1", "wattsautoconso1off": "0", "cmdautoconso1on": "x"},
         "cmdautoconso1on"),
    ],
)  # fmt: skip
def test_errors_name_the_jeedom_key_and_never_the_password(keys: dict[str, str], culprit: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_data(document(**keys))
    assert str(caught.value).startswith(culprit)
    assert "s3cret-pass" not in str(caught.value)


def test_load_validates_the_whole_config(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps(document(serie="12ab")))
    with pytest.raises(ConfigError, match=r"gateway\.serial"):
        load_plugin_config(path)
    path.write_text(json.dumps(document(widget="3")))
    config = load_plugin_config(path)
    assert config.publish.layout == "split"
    assert config.publish.jeedom is not None
    assert config.web.listen == "127.0.0.1:55061"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="not JSON"):
        load_plugin_config(path)
