"""Testo smart probes (115i, 549i, 605i, 405i ...). Testo publishes no spec for these; the framing
is reverse-engineered from public captures and verified against every public frame
(research notes §2.3, Appendix B):

    header = type:u8, 0x00, body_len:u32 LE, CRC-16/MODBUS(header[0:6]) LE
    body   = payload + CRC-16/MODBUS(payload) LE      (body_len counts the 2 CRC bytes)
    payload TLV = name_len:u32 LE, ASCII name, value (f32 LE for measurements)

Names we have confirmed are mapped; anything else is reported as unknown with its raw value,
never guessed. Gate new models on firmware (the FirmwareVersion reply) before trusting them.
"""

from __future__ import annotations

import re
import struct

from apps.diagnostics.instruments.base import (
    Advertisement,
    DecodedValue,
    DecodeError,
    Driver,
    DriverSession,
    Subscription,
    registry,
    uuid16,
)

SERVICE = uuid16(0xFFF0)
WRITE = uuid16(0xFFF1)
NOTIFY = uuid16(0xFFF2)
NAME = re.compile(r"^T(\d{3})i\b")
HEADER_LEN = 8
MAX_BODY = 4096

# name -> (unit, our quantity); confirmed from public captures of the 549i and 405i.
KNOWN = {
    "DifferentialPressure": ("Pa", "pressure"),  # gauge pressure; the tech assigns suction/liquid
    "Temperature": ("C", "temperature"),
    "BatteryLevel": ("pct", None),
    "Velocity": ("m/s", None),
}


def crc16_modbus(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def build_frame(frame_type: int, payload: bytes) -> bytes:
    body = payload + struct.pack("<H", crc16_modbus(payload)) if payload else b""
    head = struct.pack("<BBI", frame_type, 0, len(body))
    return head + struct.pack("<H", crc16_modbus(head)) + body


def named_value(name: str, value: float | None = None) -> bytes:
    raw = name.encode("ascii")
    out = struct.pack("<I", len(raw)) + raw
    return out if value is None else out + struct.pack("<f", value)


# Written to FFF1 before the probe streams (public captures of the T549i).
ENABLE_SEQUENCE = (build_frame(0x56, b"\x02"), build_frame(0x20, b""), build_frame(0x11, b""))


def split_frames(buffer: bytearray) -> list[tuple[int, bytes]]:
    """Remove every complete, CRC-valid frame from the buffer; returns (type, payload) pairs.
    A bad header CRC drops one byte (resynchronise); a bad body CRC drops the frame."""
    frames = []
    while len(buffer) >= HEADER_LEN:
        head = bytes(buffer[:6])
        (crc,) = struct.unpack("<H", buffer[6:8])
        frame_type, zero, body_len = struct.unpack("<BBI", head)
        if crc != crc16_modbus(head) or zero != 0 or body_len > MAX_BODY or body_len == 1:
            del buffer[0]
            continue
        if len(buffer) < HEADER_LEN + body_len:
            break
        body = bytes(buffer[HEADER_LEN : HEADER_LEN + body_len])
        del buffer[: HEADER_LEN + body_len]
        if body_len == 0:
            frames.append((frame_type, b""))
            continue
        payload, (body_crc,) = body[:-2], struct.unpack("<H", body[-2:])
        if body_crc != crc16_modbus(payload):
            continue
        frames.append((frame_type, payload))
    return frames


def decode_payload(frame_type: int, payload: bytes) -> list[DecodedValue]:
    values: list[DecodedValue] = []
    pos = 0
    while pos + 4 <= len(payload):
        (name_len,) = struct.unpack_from("<I", payload, pos)
        name_raw = payload[pos + 4 : pos + 4 + name_len]
        if name_len == 0 or len(name_raw) != name_len or not name_raw.isascii():
            break
        name, pos = name_raw.decode("ascii"), pos + 4 + name_len
        if name not in KNOWN:
            # Unknown name: its value's size is unknown too, so report it and stop parsing.
            values.append(DecodedValue(name, None, "", known=False))
            return values
        if pos + 4 > len(payload):
            values.append(DecodedValue(name, None, KNOWN[name][0], KNOWN[name][1]))
            return values
        (value,) = struct.unpack_from("<f", payload, pos)
        pos += 4
        unit, quantity = KNOWN[name]
        values.append(DecodedValue(name, round(value, 4), unit, quantity))
    if pos < len(payload) and not values:
        values.append(DecodedValue(f"frame_0x{frame_type:02x}", None, "", known=False))
    return values


class TestoSession(DriverSession):
    def feed(self, characteristic: str, data: bytes) -> list[DecodedValue]:
        buffer = self.buffers.setdefault(characteristic, bytearray())
        buffer.extend(data)
        out: list[DecodedValue] = []
        for frame_type, payload in split_frames(buffer):
            out.extend(decode_payload(frame_type, payload))
        return out


class TestoDriver(Driver):
    family = "testo"
    label = "Testo smart probe"
    subscriptions = (
        Subscription(NOTIFY, enable_writes=tuple((WRITE, f) for f in ENABLE_SEQUENCE)),
    )

    def matches(self, adv: Advertisement) -> bool:
        return bool(adv.name and NAME.match(adv.name))

    @staticmethod
    def serial_from_name(name: str | None) -> str:
        match = re.search(r"SN:?\s*(\w+)", name or "")
        return match.group(1) if match else ""

    def new_session(self) -> DriverSession:
        return TestoSession(self)

    def decode(self, characteristic: str, data: bytes) -> list[DecodedValue]:
        """One complete frame (for fixtures); streams go through new_session().feed()."""
        buffer = bytearray(data)
        frames = split_frames(buffer)
        if not frames or buffer:
            raise DecodeError("not exactly one valid Testo frame")
        return decode_payload(*frames[0])


registry.register(TestoDriver())
