"""Decoders against byte fixtures (research notes §2.1, §2.3, Appendix B)."""

import struct

import pytest

from apps.diagnostics.instruments import Advertisement, ess, registry, testo
from apps.diagnostics.instruments.base import DecodeError

ESS = registry.get("ess")
TESTO = registry.get("testo")


@pytest.mark.parametrize(
    ("char", "hex_", "value", "unit", "quantity"),
    [
        (ess.TEMPERATURE, "6608", 21.50, "C", "temperature"),
        (ess.TEMPERATURE, "0cfe", -5.0, "C", "temperature"),
        (ess.PRESSURE, "02760f00", 101325.0, "Pa", "barometric_pressure"),
        (ess.HUMIDITY, "d711", 45.67, "pct", "relative_humidity"),
    ],
)
def test_ess_fixtures(char, hex_, value, unit, quantity):
    [decoded] = ESS.decode(char, bytes.fromhex(hex_))
    assert (decoded.value, decoded.unit, decoded.quantity) == (pytest.approx(value), unit, quantity)


def test_ess_unknown_sentinels_decode_as_unknown_values():
    assert ESS.decode(ess.TEMPERATURE, bytes.fromhex("0080"))[0].value is None
    assert ESS.decode(ess.HUMIDITY, bytes.fromhex("ffff"))[0].value is None


def test_ess_short_uuid_and_wrong_length():
    assert ESS.decode("2a6e", bytes.fromhex("6608"))[0].value == 21.5
    with pytest.raises(DecodeError):
        ESS.decode(ess.TEMPERATURE, b"\x01")
    assert ESS.decode("00002a19-0000-1000-8000-00805f9b34fb", b"\x50") == []  # battery: not ours


def test_ess_round_trip():
    assert ess.decode_temperature(ess.encode_temperature(-12.34)).value == -12.34
    assert ess.decode_humidity(ess.encode_humidity(None)).value is None


@pytest.mark.parametrize(
    ("frame_type", "payload", "hex_"),
    [
        (0x56, b"\x02", "5600030000000c69023e81"),
        (0x20, b"", "200000000000077b"),
        (0x11, b"", "110000000000035a"),
        (0x07, b"", "07000000000001ac"),
        (
            0x04,
            testo.named_value("FirmwareVersion"),
            "04001500000005930f0000004669726d7761726556657273696f6e304f",
        ),
    ],
)
def test_testo_frames_match_the_verified_vectors(frame_type, payload, hex_):
    assert testo.build_frame(frame_type, payload).hex() == hex_
    buffer = bytearray.fromhex(hex_)
    assert testo.split_frames(buffer) == [(frame_type, payload)] and not buffer


def test_crc16_modbus_check_value():
    assert testo.crc16_modbus(b"123456789") == 0x4B37  # the catalogue check value


def test_testo_measurement_frame():
    frame = testo.build_frame(0x07, testo.named_value("DifferentialPressure", 812345.5))
    assert len(frame) == 8 + 30  # 4 + 20 + 4 + 2 body bytes, as captured
    [value] = TESTO.decode(testo.NOTIFY, frame)
    assert (
        value.name == "DifferentialPressure" and value.unit == "Pa" and value.quantity == "pressure"
    )
    assert value.value == pytest.approx(812345.5)


def test_testo_stream_reassembles_split_frames_and_skips_garbage():
    session = TESTO.new_session()
    one = testo.build_frame(0x07, testo.named_value("Temperature", 21.25))
    two = testo.build_frame(0x07, testo.named_value("BatteryLevel", 87.0))
    stream = b"\xff\x00" + one + two
    out = []
    for i in range(0, len(stream), 7):  # 7-byte notifications
        out += session.feed(testo.NOTIFY, stream[i : i + 7])
    assert [(v.name, v.value) for v in out] == [("Temperature", 21.25), ("BatteryLevel", 87.0)]


def test_testo_bad_body_crc_is_dropped():
    frame = bytearray(testo.build_frame(0x07, testo.named_value("Temperature", 21.0)))
    frame[-1] ^= 0xFF
    assert TESTO.new_session().feed(testo.NOTIFY, bytes(frame)) == []
    with pytest.raises(DecodeError):
        TESTO.decode(testo.NOTIFY, bytes(frame))


def test_testo_unknown_field_is_reported_as_unknown_not_guessed():
    payload = testo.named_value("SuperSecretThing") + struct.pack("<f", 3.0)
    [value] = TESTO.decode(testo.NOTIFY, testo.build_frame(0x07, payload))
    assert value.name == "SuperSecretThing" and value.known is False and value.value is None


def test_registry_matches_known_families_and_lists_unknown_devices():
    assert registry.match(Advertisement("a", "T549i SN:12345678")).family == "testo"
    assert registry.match(Advertisement("a", None, (ess.SERVICE,))).family == "ess"
    assert registry.match(Advertisement("a", None, ("181a",))).family == "ess"
    fieldpiece = registry.match(Advertisement("a", "JL3PR 1234"))
    uei = registry.match(Advertisement("a", "UEi DL599"))
    assert fieldpiece.family == "fieldpiece" and fieldpiece.supported is False
    assert uei.family == "uei" and uei.supported is False
    assert fieldpiece.decode("x", b"\x01\x02")[0].known is False
    assert registry.match(Advertisement("a", "Somebody's headphones")) is None
    assert registry.match(Advertisement("a", None)) is None


def test_testo_serial_from_advertised_name():
    assert TESTO.serial_from_name("T549i SN:12345678") == "12345678"
    assert TESTO.serial_from_name(None) == ""
