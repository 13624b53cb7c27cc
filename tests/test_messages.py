"""Connection failures explained in English and French against real loopback servers (issue 10)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import aiomqtt
import jwt
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.test_utils import TestServer
from aiomqtt.exceptions import MqttConnectError
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from enphase_secure.config import GatewayConfig
from enphase_secure.errors import GatewayUnreachableError
from enphase_secure.gateway.connect import open_gateway
from enphase_secure.messages import explain, explain_mqtt, set_language
from loopback import free_port


@pytest.fixture(params=["en", "fr"])
def language(request: pytest.FixtureRequest) -> Iterator[str]:
    set_language(request.param)
    yield request.param
    set_language("en")


EXPECTED = {
    "refused": {"en": "nothing listens at '{url}' (connection refused)", "fr": "rien n'écoute sur '{url}'"},
    "plain_http": {"en": "'{url}' answers in plain HTTP, not HTTPS", "fr": "'{url}' répond en HTTP simple"},
    "name": {"en": "the name 'gateway.home' does not resolve", "fr": "le nom 'gateway.home' est introuvable"},
}


def _gateway(host: str) -> GatewayConfig:
    token = jwt.encode({"exp": int(time.time()) + 86_400, "iat": int(time.time())}, "k" * 32)
    return GatewayConfig.model_validate(
        {"host": host, "token_mode": "manual", "token": token, "timeout_s": 5}
    )


async def _gateway_error(host: str, tmp_path: Path) -> str:
    async with open_gateway(_gateway(host), state_dir=tmp_path) as gateway:
        with pytest.raises(GatewayUnreachableError) as caught:
            await gateway.get("/info")
    return str(caught.value)


async def test_nothing_listening(language: str, tmp_path: Path) -> None:
    host = f"127.0.0.1:{free_port()}"
    message = await _gateway_error(host, tmp_path)
    assert EXPECTED["refused"][language].format(url=f"https://{host}") in message


async def _info(_request: web.Request) -> web.Response:
    return web.Response(text="<envoy_info/>")


async def test_plain_http_where_https_is_expected(language: str, tmp_path: Path) -> None:
    app = web.Application()
    app.router.add_get("/info", _info)
    async with TestServer(app, host="127.0.0.1") as server:
        host = f"127.0.0.1:{server.port}"
        message = await _gateway_error(host, tmp_path)
    assert EXPECTED["plain_http"][language].format(url=f"https://{host}") in message


class _NoSuchName(AbstractResolver):
    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        raise OSError(socket.EAI_NONAME, "Name or service not known")

    async def close(self) -> None:
        return None


async def test_a_name_that_does_not_resolve(language: str) -> None:
    url = "http://gateway.home/info"  # resolved by a resolver that knows no name: nothing leaves the machine
    connector = aiohttp.TCPConnector(resolver=_NoSuchName())
    async with aiohttp.ClientSession(connector=connector) as http:
        with pytest.raises(aiohttp.ClientError) as caught:
            await http.get(url)
    assert EXPECTED["name"][language] in explain(caught.value, url)


def test_locale_picks_french(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LC_ALL", "LC_MESSAGES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert set_language("auto") == "fr"
    monkeypatch.setenv("LANG", "C.UTF-8")
    assert set_language("auto") == "en"


@pytest.mark.parametrize(
    ("err", "login"),
    [(MqttConnectError(5), True),  # MQTT 3.1.1: not authorized
     (MqttConnectError(4), True),  # MQTT 3.1.1: bad user name or password
     (MqttConnectError(ReasonCode(PacketTypes.CONNACK, identifier=135)), True),
     (MqttConnectError(ReasonCode(PacketTypes.CONNACK, identifier=134)), True),
     (MqttConnectError(3), False),  # server unavailable
     (aiomqtt.MqttError("timed out"), False)],
)  # fmt: skip
def test_a_refused_mqtt_login_names_the_keys(language: str, err: Exception, login: bool) -> None:
    text = explain_mqtt(err)
    assert ("publish.mqtt.username" in text and "publish.mqtt.password" in text) is login
    assert str(err) in text
    if login:
        assert ("refusé" if language == "fr" else "refused the username/password") in text
