"""Connection failures said so that a non-programmer can act on them, in English or French (issue 10).

The language is ``[log] language`` (``en``, ``fr``), or with ``auto`` the locale (``LC_ALL``,
``LC_MESSAGES``, ``LANG``): French when it starts with ``fr``. The URL is quoted as the user wrote it.
"""

from __future__ import annotations

import os
import socket
import ssl
from enum import StrEnum
from urllib.parse import urlsplit

import aiohttp


class Language(StrEnum):
    EN = "en"
    FR = "fr"


_language = Language.EN


def set_language(setting: str) -> Language:
    """``en``, ``fr`` or ``auto`` (from the locale); the language now in use."""
    global _language  # noqa: PLW0603 (one process-wide choice, made at start)
    if setting == "auto":
        locale = next((os.environ[k] for k in ("LC_ALL", "LC_MESSAGES", "LANG") if os.environ.get(k)), "")
        _language = Language.FR if locale.lower().startswith("fr") else Language.EN
    else:
        _language = Language(setting)
    return _language


_TEXTS: dict[str, dict[Language, str]] = {
    "refused": {
        Language.EN: "nothing listens at {where} (connection refused): check the port, or start the device",
        Language.FR: "rien n'écoute sur {where} (connexion refusée) : vérifiez le port, "
        "ou allumez l'appareil",
    },
    "name": {
        Language.EN: "the name {host!r} does not resolve: check its spelling, or use the IP address",
        Language.FR: "le nom {host!r} est introuvable : vérifiez l'orthographe, ou mettez l'adresse IP",
    },
    "plain_http": {
        Language.EN: "{where} answers in plain HTTP, not HTTPS: wrong port, "
        "or write http:// if it has no HTTPS",
        Language.FR: "{where} répond en HTTP simple, pas en HTTPS : mauvais port, ou écrivez http:// "
        "s'il n'a pas de HTTPS",
    },
    "certificate": {
        Language.EN: "the certificate of {where} does not verify ({reason}): for a self-signed certificate, "
        "set verify_tls = false or give its authority in ca_file",
        Language.FR: "le certificat de {where} n'est pas vérifiable ({reason}) : pour un certificat "
        "auto-signé, mettez verify_tls = false ou donnez son autorité dans ca_file",
    },
    "tls": {
        Language.EN: "secure connection to {where} failed ({reason}): is it the right port?",
        Language.FR: "la connexion sécurisée à {where} a échoué ({reason}) : est-ce le bon port ?",
    },
    "unreachable": {
        Language.EN: "cannot reach {where} ({reason}): check the address and the network",
        Language.FR: "impossible de joindre {where} ({reason}) : vérifiez l'adresse et le réseau",
    },
    "disconnected": {
        Language.EN: "{where} closed the connection without answering: wrong port, or the device is busy",
        Language.FR: "{where} a fermé la connexion sans répondre : mauvais port, ou appareil occupé",
    },
    "mqtt_login": {
        Language.EN: "the broker refused the username/password ({reason}): check publish.mqtt.username "
        "and publish.mqtt.password (or password_file), and the broker's access list",
        Language.FR: "le broker a refusé l'identifiant ou le mot de passe ({reason}) : vérifiez "
        "publish.mqtt.username et publish.mqtt.password (ou password_file), et les droits du broker",
    },
}

# CONNACK codes of a refused login: MQTT 3.1.1 (4, 5) and MQTT 5 (134, 135)
_MQTT_LOGIN_CODES = frozenset({4, 5, 134, 135})

_PLAIN_HTTP_SIGNS = ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST")


def say(key: str, **values: object) -> str:
    return _TEXTS[key][_language].format(**values)


def explain(err: BaseException, url: str) -> str:
    """What went wrong reaching ``url`` (as the user wrote it) and what to do about it."""
    where = f"'{url}'"
    reason = str(getattr(err, "os_error", None) or err) or type(err).__name__
    if isinstance(err, aiohttp.ClientConnectorDNSError) or isinstance(
        getattr(err, "os_error", None), socket.gaierror
    ):
        return say("name", host=urlsplit(url).hostname or url)
    if isinstance(err, aiohttp.ClientConnectorCertificateError):
        certificate = err.certificate_error
        return say("certificate", where=where, reason=getattr(certificate, "verify_message", certificate))
    if isinstance(err, aiohttp.ClientConnectorError) and isinstance(err.os_error, ConnectionRefusedError):
        return say("refused", where=where)
    if isinstance(err, (aiohttp.ClientSSLError, aiohttp.ClientOSError, ssl.SSLError)):
        if any(sign in reason.upper() for sign in _PLAIN_HTTP_SIGNS):
            return say("plain_http", where=where)
        if isinstance(err, aiohttp.ClientSSLError):
            return say("tls", where=where, reason=reason)
    if isinstance(err, aiohttp.ServerDisconnectedError):
        return say("disconnected", where=where)
    return say("unreachable", where=where, reason=f"{type(err).__name__}: {reason}")


def explain_mqtt(err: BaseException) -> str:
    """Why the MQTT broker cannot be used; a refused login names the keys to check."""
    from aiomqtt.exceptions import MqttConnectError  # noqa: PLC0415 (loaded with MQTT only)

    if isinstance(err, MqttConnectError):
        code = getattr(err.rc, "value", err.rc)
        if code in _MQTT_LOGIN_CODES:
            return say("mqtt_login", reason=str(err))
    return str(err) or err.__class__.__name__
