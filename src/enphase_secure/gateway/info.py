"""``/info`` (XML, open without a token): serial, part number, firmware, metered or not."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

from ..errors import GatewayResponseError
from .transport import Transport

INFO_PATH = "/info"
_VERSION_NUMBERS = re.compile(r"(\d+)\.(\d+)\.(\d+)")


def firmware_version(firmware: str) -> tuple[int, int, int] | None:
    """``"D8.3.5433"`` -> ``(8, 3, 5433)``; None when the text holds no version."""
    match = _VERSION_NUMBERS.search(firmware)
    if match is None:
        return None
    major, minor, build = (int(group) for group in match.groups())
    return major, minor, build


@dataclass(frozen=True, slots=True)
class GatewayInfo:
    serial: str
    part_number: str | None
    firmware: str
    imeter: bool | None
    web_tokens: bool | None

    @property
    def firmware_version(self) -> tuple[int, int, int] | None:
        return firmware_version(self.firmware)

    @classmethod
    def from_xml(cls, body: bytes) -> GatewayInfo:
        try:
            # expat (Python >= 3.11 bundles 2.5+) neither fetches external entities nor lets
            # entity expansion amplify: parsing the LAN gateway's answer is safe.
            root = ET.fromstring(body)  # noqa: S314
        except ET.ParseError as err:
            raise GatewayResponseError(INFO_PATH, f"not XML: {err}") from err
        device = root.find("device")
        if device is None:
            raise GatewayResponseError(INFO_PATH, "missing", field="device")

        def text(element: ET.Element, tag: str) -> str | None:
            found = element.find(tag)
            if found is None or found.text is None or not found.text.strip():
                return None
            return found.text.strip()

        def flag(element: ET.Element, tag: str) -> bool | None:
            value = text(element, tag)
            return None if value is None else value.lower() == "true"

        serial = text(device, "sn")
        if serial is None:
            raise GatewayResponseError(INFO_PATH, "missing", field="device.sn")
        firmware = text(device, "software")
        if firmware is None:
            raise GatewayResponseError(INFO_PATH, "missing", field="device.software")
        return cls(
            serial=serial,
            part_number=text(device, "pn"),
            firmware=firmware,
            imeter=flag(device, "imeter"),
            web_tokens=flag(root, "web-tokens"),
        )


async def read_info(transport: Transport) -> GatewayInfo:
    return GatewayInfo.from_xml(await transport.get(INFO_PATH))
