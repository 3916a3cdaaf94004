"""Bluetooth SIG Environmental Sensing Service (0x181A), as generic and DIY probes expose it.

Formats from the GATT Specification Supplement: Temperature 0x2A6E sint16 in 0.01 °C with
0x8000 meaning "not known"; Pressure 0x2A6D uint32 in 0.1 Pa; Humidity 0x2A6F uint16 in
0.01 % with 0xFFFF meaning "not known".
"""

from __future__ import annotations

import struct

from apps.diagnostics.instruments.base import (
    Advertisement,
    DecodedValue,
    DecodeError,
    Driver,
    Subscription,
    normalize_uuid,
    registry,
    uuid16,
)

SERVICE = uuid16(0x181A)
TEMPERATURE = uuid16(0x2A6E)
PRESSURE = uuid16(0x2A6D)
HUMIDITY = uuid16(0x2A6F)
TEMP_UNKNOWN = -0x8000
HUMIDITY_UNKNOWN = 0xFFFF


def decode_temperature(data: bytes) -> DecodedValue:
    if len(data) != 2:
        raise DecodeError(f"temperature needs 2 bytes, got {len(data)}")
    (raw,) = struct.unpack("<h", data)
    value = None if raw == TEMP_UNKNOWN else raw / 100
    return DecodedValue("temperature", value, "C", quantity="temperature")


def decode_pressure(data: bytes) -> DecodedValue:
    if len(data) != 4:
        raise DecodeError(f"pressure needs 4 bytes, got {len(data)}")
    (raw,) = struct.unpack("<I", data)
    # ESS pressure is absolute (barometric); the agent reports it as such.
    return DecodedValue("pressure", raw / 10, "Pa", quantity="barometric_pressure")


def decode_humidity(data: bytes) -> DecodedValue:
    if len(data) != 2:
        raise DecodeError(f"humidity needs 2 bytes, got {len(data)}")
    (raw,) = struct.unpack("<H", data)
    value = None if raw == HUMIDITY_UNKNOWN else raw / 100
    return DecodedValue("humidity", value, "pct", quantity="relative_humidity")


def encode_temperature(celsius: float | None) -> bytes:
    return struct.pack("<h", TEMP_UNKNOWN if celsius is None else round(celsius * 100))


def encode_pressure(pascal: float) -> bytes:
    return struct.pack("<I", round(pascal * 10))


def encode_humidity(pct: float | None) -> bytes:
    return struct.pack("<H", HUMIDITY_UNKNOWN if pct is None else round(pct * 100))


DECODERS = {TEMPERATURE: decode_temperature, PRESSURE: decode_pressure, HUMIDITY: decode_humidity}


class EssDriver(Driver):
    family = "ess"
    label = "Bluetooth SIG Environmental Sensing"
    subscriptions = (Subscription(TEMPERATURE), Subscription(PRESSURE), Subscription(HUMIDITY))

    def matches(self, adv: Advertisement) -> bool:
        return SERVICE in {normalize_uuid(u) for u in adv.service_uuids}

    def decode(self, characteristic: str, data: bytes) -> list[DecodedValue]:
        decoder = DECODERS.get(normalize_uuid(characteristic))
        if decoder is None:
            return []
        return [decoder(data)]


registry.register(EssDriver())
