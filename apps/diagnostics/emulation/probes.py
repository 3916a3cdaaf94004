"""Emulated probes: an ESS thermometer/barometer and a Testo-framed pressure probe."""

from __future__ import annotations

import asyncio
import itertools
import struct

from bumble import gatt
from bumble.controller import Controller
from bumble.core import AdvertisingData
from bumble.device import Device
from bumble.hci import Address
from bumble.host import Host
from bumble.link import LocalLink
from bumble.transport.common import AsyncPipeSink

from apps.diagnostics.instruments import ess, testo

_addresses = itertools.count(1)


def _address() -> str:
    n = next(_addresses)
    # Static random addresses: top two bits set.
    return f"C0:00:00:00:{(n >> 8) & 0xFF:02X}:{n & 0xFF:02X}"


def make_device(link: LocalLink, name: str) -> Device:
    address = _address()
    controller = Controller(name, link=link, public_address=address)
    return Device(
        name=name, address=Address(address), host=Host(controller, AsyncPipeSink(controller))
    )


def _adv(name: str, service16: int | None) -> bytes:
    items = [
        (AdvertisingData.FLAGS, bytes([0x06])),
        (AdvertisingData.COMPLETE_LOCAL_NAME, name.encode()),
    ]
    if service16 is not None:
        items.append(
            (
                AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
                struct.pack("<H", service16),
            )
        )
    return bytes(AdvertisingData(items))


def _device_info(serial: str, model: str) -> gatt.Service:
    ro = gatt.Characteristic.Properties.READ
    return gatt.Service(
        "180A",
        [
            gatt.Characteristic("2A25", ro, gatt.Characteristic.READABLE, serial.encode()),
            gatt.Characteristic("2A24", ro, gatt.Characteristic.READABLE, model.encode()),
        ],
    )


class EmulatedProbe:
    """Base: a bumble peripheral that advertises and streams a value at a fixed rate."""

    def __init__(self, link: LocalLink, name: str, rate_hz: float = 1.0):
        self.device = make_device(link, name)
        self.name, self.rate_hz = name, rate_hz
        self.sent = 0
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.device.power_on()
        await self.device.start_advertising(
            auto_restart=True, advertising_interval_min=20, advertising_interval_max=30
        )
        self._task = asyncio.create_task(self._stream())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _stream(self) -> None:
        # Real probes stream periodically; a value sent before the central subscribes is lost,
        # exactly as over the air.
        while True:
            await asyncio.sleep(1 / self.rate_hz)
            if self.subscribed():
                await self.notify_once()

    stream_char: gatt.Characteristic

    def subscribed(self) -> bool:
        """A central has enabled notifications (CCCD written): only then does a value count as
        sent, since a notification with no subscriber never leaves the probe."""
        return any(
            cccds.get(self.stream_char.handle, b"\x00\x00")[0] & 0x01
            for cccds in self.device.gatt_server.subscribers.values()
        )

    async def notify_once(self) -> None:
        raise NotImplementedError


class EssProbe(EmulatedProbe):
    """Temperature (0x2A6E) and, optionally, an unknown-sentinel sequence."""

    def __init__(self, link, name="ESS Probe", *, serial="ESS0001", values=(21.5,), rate_hz=1.0):
        super().__init__(link, name, rate_hz)
        self.values = list(values)
        notify = gatt.Characteristic.Properties.NOTIFY | gatt.Characteristic.Properties.READ
        self.temperature = gatt.Characteristic(
            ess.TEMPERATURE,
            notify,
            gatt.Characteristic.READABLE,
            ess.encode_temperature(self.values[0]),
        )
        self.stream_char = self.temperature
        self.device.add_services(
            [gatt.Service(ess.SERVICE, [self.temperature]), _device_info(serial, "ESS-T1")]
        )
        self.device.advertising_data = _adv(name, 0x181A)

    async def notify_once(self) -> None:
        value = self.values[self.sent % len(self.values)]
        self.sent_values = getattr(self, "sent_values", [])
        self.sent_values.append(value)
        self.sent += 1
        await self.device.notify_subscribers(self.temperature, ess.encode_temperature(value))


class TestoProbe(EmulatedProbe):
    """A 549i-style pressure probe: streams only after the enable sequence arrives on FFF1."""

    __test__ = False  # not a pytest class

    def __init__(
        self, link, serial="12345678", *, pascal=(800_000.0,), rate_hz=1.0, split_frames=True
    ):
        super().__init__(link, f"T549i SN:{serial}", rate_hz)
        self.values, self.split_frames = list(pascal), split_frames
        self.enabled = asyncio.Event()
        self.writes: list[bytes] = []
        props = gatt.Characteristic.Properties
        self.notify_char = gatt.Characteristic(
            testo.NOTIFY, props.NOTIFY, gatt.Characteristic.READABLE, b""
        )
        self.write_char = gatt.Characteristic(
            testo.WRITE,
            props.WRITE | props.WRITE_WITHOUT_RESPONSE,
            gatt.Characteristic.WRITEABLE,
            gatt.CharacteristicValue(write=self._on_write),
        )
        self.stream_char = self.notify_char
        self.device.add_services([gatt.Service(testo.SERVICE, [self.write_char, self.notify_char])])
        self.device.advertising_data = _adv(self.name, 0xFFF0)

    def _on_write(self, _connection, value: bytes) -> None:
        self.writes.append(bytes(value))
        if len(self.writes) >= len(testo.ENABLE_SEQUENCE):
            self.enabled.set()

    def subscribed(self) -> bool:
        return super().subscribed() and self.enabled.is_set()

    async def notify_once(self) -> None:
        value = self.values[self.sent % len(self.values)]
        self.sent += 1
        frame = testo.build_frame(0x07, testo.named_value("DifferentialPressure", value))
        # Split a frame across two notifications, as 20-byte MTU devices do.
        chunks = [frame[:20], frame[20:]] if self.split_frames else [frame]
        for chunk in chunks:
            await self.device.notify_subscribers(self.notify_char, chunk)
