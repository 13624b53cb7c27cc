from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from enphase_secure.config import load_config, parse_config
from enphase_secure.errors import ConfigError

MINIMAL = """
[gateway]
host = "127.0.0.1:8443"
token_mode = "manual"
token = "abc.def.ghi"
"""


def _auto(**gateway: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"host": "envoy.local", "username": "me@example.com", "password": "pw-secret-1"}
    base.update(gateway)
    return {"gateway": base}


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text(MINIMAL)
    config = load_config(file)
    assert config.gateway.host == "127.0.0.1:8443"
    assert config.polling.interval_s == 1.0
    assert config.polling.inverters_interval_s == 900.0
    assert config.site.phases == "auto"
    assert config.storage.history_url.endswith("/history.db")
    assert config.web.listen == "127.0.0.1:8080"


@pytest.mark.parametrize(
    ("data", "culprit"),
    [
        (_auto(hots="x"), "gateway.hots: unknown key"),
        ({**_auto(), "polling": {"interval_s": 0.5}}, "polling.interval_s"),
        ({**_auto(), "site": {"timezone": "Mars/Olympus"}}, "unknown time zone 'Mars/Olympus'"),
        ({**_auto(), "site": {"phases": "two"}}, "site.phases"),
        (_auto(host="not a host!"), "gateway.host"),
        (_auto(username=None), "needs username"),
        ({"gateway": {"host": "h", "token_mode": "manual"}}, "needs token or token_file"),
        (_auto(serial="12ab"), "gateway.serial"),
        (_auto(cert_fingerprint="xyz"), "gateway.cert_fingerprint"),
        ({**_auto(), "web": {"listen": "8080"}}, "web.listen"),
        ({**_auto(), "storage": {"url": "mysql://x"}}, "storage.url"),
        ({}, "gateway: required key is missing"),
        ({**_auto(), "publish": {"jeedom": {"url": "http://j"}}}, "exactly one of apikey"),
    ],
)
def test_bad_values_are_named(data: dict[str, Any], culprit: str) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(data)
    assert culprit in str(exc.value)


def test_secrets_never_in_errors_or_repr() -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config({**_auto(password="pw-secret-1"), "polling": {"interval_s": 0}})
    assert "pw-secret-1" not in str(exc.value)
    config = parse_config(_auto(password="pw-secret-1"))
    assert "pw-secret-1" not in repr(config)
    assert config.gateway.password_value() is not None


def test_password_file_read_and_missing_named(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from-file\n")
    config = parse_config(_auto(password=None, password_file=str(secret)))
    value = config.gateway.password_value()
    assert value is not None
    assert value.get_secret_value() == "from-file"
    missing = parse_config(_auto(password=None, password_file=str(tmp_path / "nope")))
    with pytest.raises(ConfigError, match=r"gateway\.password_file"):
        missing.gateway.password_value()


def test_toml_syntax_error_names_file(tmp_path: Path) -> None:
    file = tmp_path / "broken.toml"
    file.write_text("[gateway\nhost=1")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_config(file)


def test_missing_file_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config file"):
        load_config(tmp_path / "absent.toml")


def test_fingerprint_normalised() -> None:
    fp = ":".join(["AB"] * 32)
    config = parse_config(_auto(cert_fingerprint=fp))
    assert config.gateway.cert_fingerprint == "ab" * 32


def test_control_settings_and_action_mistakes_are_listed_together() -> None:
    data = {
        "gateway": {"host": "127.0.0.1", "token_mode": "manual", "token": "x.y.z"},
        "control": {
            "stages": [
                {"name": "heater", "start_above_w": 1500, "stop_below_w": 200, "start_delay_s": -5,
                 "on": {"http": {"url": "http://127.0.0.1:9/on"}}},
                {"name": "pump", "start_above_w": 900, "stop_below_w": 100, "on": {"http": {"nope": 1}}},
            ]
        },
    }  # fmt: skip
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    message = str(err.value)
    assert "control.stages[0].start_delay_s" in message
    assert "control.stages[1].on.http" in message
