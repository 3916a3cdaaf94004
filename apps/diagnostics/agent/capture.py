"""Scan, connect, subscribe and decode with bleak; every decoded value goes into the queue.

`scanner_backend` / `client_backend` are bleak's own `backend=` seam: None in the field (BlueZ,
CoreBluetooth, WinRT), a bumble bridge in tests. Nothing else differs between the two.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from bleak import BleakClient, BleakScanner
from bleak.exc import BleakError

from apps.diagnostics.agent.queue import DurableQueue
from apps.diagnostics.instruments import Advertisement, registry
from apps.diagnostics.instruments.base import Driver, uuid16

log = logging.getLogger("diagnostics.agent")
DEVICE_SERIAL = uuid16(0x2A25)
DEVICE_MODEL = uuid16(0x2A24)


@dataclass
class Seen:
    address: str
    name: str | None
    driver: Driver | None
    ble_device: object = None

    @property
    def status(self) -> str:
        if self.driver is None:
            return "unknown device"
        return (
            "supported" if self.driver.supported else f"{self.driver.family}: format not yet known"
        )


@dataclass
class CaptureConfig:
    work_order: int
    phase: str = "in"
    equipment: int | None = None
    # decoded quantity or serial/address -> our quantity, e.g. {"T549i:12345678": "suction_pressure"}
    assign: dict[str, str] = field(default_factory=dict)


@dataclass
class Counters:
    decoded: int = 0
    queued: int = 0
    unknown: int = 0  # "value not known" sentinels and unconfirmed fields: reported, not stored


async def scan(*, timeout: float = 5.0, backend=None) -> list[Seen]:
    """Every advertiser in range, matched to a driver where we have one; unknown ones listed too."""
    found = await BleakScanner.discover(timeout=timeout, return_adv=True, backend=backend)
    seen = []
    for device, adv in found.values():
        advert = Advertisement(
            address=device.address,
            name=adv.local_name or device.name,
            service_uuids=tuple(adv.service_uuids),
            manufacturer_ids=tuple(adv.manufacturer_data),
        )
        seen.append(Seen(device.address, advert.name, registry.match(advert), device))
    return sorted(seen, key=lambda s: (s.driver is None, s.address))


class InstrumentLink:
    """One connected instrument: decode its notifications into queued readings."""

    def __init__(
        self,
        seen: Seen,
        *,
        queue: DurableQueue,
        config: CaptureConfig,
        backend=None,
        counters: Counters | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ):
        assert seen.driver is not None
        self.seen, self.driver, self.queue, self.config = seen, seen.driver, queue, config
        self.backend = backend
        self.counters = counters or Counters()
        self.clock = clock
        self.session = self.driver.new_session()
        self.serial = ""
        self.model = ""

    async def _device_info(self, client: BleakClient) -> None:
        for uuid_, attr in ((DEVICE_SERIAL, "serial"), (DEVICE_MODEL, "model")):
            if client.services.get_characteristic(uuid_) is not None:
                try:
                    raw = await client.read_gatt_char(uuid_)
                    setattr(self, attr, bytes(raw).decode("utf-8", "replace").strip("\x00 "))
                except BleakError:
                    pass
        if not self.serial and self.driver.family == "testo":
            self.serial = self.driver.serial_from_name(self.seen.name)
        self.serial = self.serial or self.seen.address.replace(":", "")
        self.model = self.model or (self.seen.name or "")

    def on_notify(self, characteristic, data: bytearray) -> None:
        for value in self.session.feed(str(characteristic.uuid), bytes(data)):
            self.counters.decoded += 1
            if value.value is None or not value.known or value.quantity is None:
                self.counters.unknown += 1
                log.debug("not stored: %s from %s (%s)", value.name, self.serial, "unknown")
                continue
            quantity = (
                self.config.assign.get(f"{self.serial}:{value.quantity}")
                or self.config.assign.get(self.serial)
                or self.config.assign.get(value.quantity)
                or value.quantity
            )
            reading = {
                "client_id": str(uuid.uuid4()),
                "work_order": self.config.work_order,
                "quantity": quantity,
                "value": f"{value.value:.4f}",
                "unit": value.unit,
                "taken_at": self.clock().isoformat(),
                "capture_method": "ble",
                "phase": self.config.phase,
                "instrument_family": self.driver.family,
                "instrument_model": self.model[:80],
                "instrument_serial": self.serial[:80],
            }
            if self.config.equipment:
                reading["equipment"] = self.config.equipment
            self.queue.put(reading)
            self.counters.queued += 1

    async def run(self, stop: asyncio.Event, *, timeout: float = 20.0) -> None:
        """Connect, subscribe and stream until `stop` is set or the device drops."""
        gone = asyncio.Event()
        client = BleakClient(
            self.seen.ble_device or self.seen.address,
            disconnected_callback=lambda _c: gone.set(),
            timeout=timeout,
            backend=self.backend,
        )
        async with client:
            await self._device_info(client)
            for sub in self.driver.subscriptions:
                if client.services.get_characteristic(sub.characteristic) is None:
                    continue
                await client.start_notify(sub.characteristic, self.on_notify)
                for char, payload in sub.enable_writes:
                    await client.write_gatt_char(char, payload, response=True)
            stopper = asyncio.ensure_future(stop.wait())
            dropper = asyncio.ensure_future(gone.wait())
            await asyncio.wait({stopper, dropper}, return_when=asyncio.FIRST_COMPLETED)
            stopper.cancel()
            dropper.cancel()
