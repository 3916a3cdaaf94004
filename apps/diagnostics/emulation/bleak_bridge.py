"""A bleak backend that drives a bumble central on a virtual link (test and benchmark only).

Passed through bleak's public `backend=` parameter, so the agent's unmodified bleak calls
(BleakScanner.discover, BleakClient.connect / read_gatt_char / write_gatt_char / start_notify)
run against emulated instruments with real ATT/GATT underneath. bleak proposed an upstream
bumble backend (hbldh/bleak PR #1681) and did not merge it; this one stays out of production.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid as uuidlib
from typing import Any

from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.descriptor import BleakGATTDescriptor
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection
from bleak.exc import BleakError
from bumble.core import AdvertisingData
from bumble.device import Device, Peer
from bumble.gatt import Characteristic
from bumble.link import LocalLink

from apps.diagnostics.emulation.probes import make_device


def _uuid_str(u) -> str:
    raw = u.to_bytes(force_128=True)
    return str(uuidlib.UUID(bytes=bytes(reversed(raw))))


PROPS = [
    (Characteristic.Properties.BROADCAST, "broadcast"),
    (Characteristic.Properties.READ, "read"),
    (Characteristic.Properties.WRITE_WITHOUT_RESPONSE, "write-without-response"),
    (Characteristic.Properties.WRITE, "write"),
    (Characteristic.Properties.NOTIFY, "notify"),
    (Characteristic.Properties.INDICATE, "indicate"),
]


class Air:
    """One virtual radio environment: a link and the central the bleak backends share."""

    def __init__(self) -> None:
        self.link = LocalLink()
        self._central: Device | None = None
        self._connect_lock = asyncio.Lock()

    async def central(self) -> Device:
        if self._central is None:
            self._central = make_device(self.link, "agent")
            await self._central.power_on()
        return self._central

    def backends(self) -> tuple[type[BaseBleakScanner], type[BaseBleakClient]]:
        air = self
        return (
            type("BumbleScanner", (BumbleScanner,), {"air": air}),
            type("BumbleClient", (BumbleClient,), {"air": air}),
        )


class BumbleScanner(BaseBleakScanner):
    air: Air

    def __init__(
        self, detection_callback=None, service_uuids=None, scanning_mode="active", **kwargs: Any
    ):
        super().__init__(detection_callback, service_uuids)
        self._central: Device | None = None

    def _on_advertisement(self, adv) -> None:
        data = adv.data
        name = data.get(AdvertisingData.COMPLETE_LOCAL_NAME)
        uuids = []
        for kind in (
            AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.INCOMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
            AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS,
        ):
            uuids += [_uuid_str(u) for u in data.get(kind) or []]
        if not self.is_allowed_uuid(uuids):
            return
        advertisement = AdvertisementData(
            local_name=name,
            manufacturer_data={},
            service_data={},
            service_uuids=uuids,
            tx_power=None,
            rssi=adv.rssi,
            platform_data=(adv,),
        )
        address = str(adv.address).split("/")[0]
        device = self.create_or_update_device(address, address, name, adv.address, advertisement)
        self.call_detection_callbacks(device, advertisement)

    async def start(self) -> None:
        self.seen_devices = {}
        self._central = await self.air.central()
        self._central.on("advertisement", self._on_advertisement)
        await self._central.start_scanning(filter_duplicates=False)

    async def stop(self) -> None:
        if self._central is not None:
            await self._central.stop_scanning()
            self._central.remove_listener("advertisement", self._on_advertisement)


class BumbleClient(BaseBleakClient):
    air: Air

    def __init__(self, address_or_ble_device, **kwargs: Any):
        super().__init__(
            address_or_ble_device,
            disconnected_callback=kwargs.pop("disconnected_callback", None),
            timeout=kwargs.pop("timeout", 10.0),
        )
        self._peer_address = (
            address_or_ble_device.details
            if isinstance(address_or_ble_device, BLEDevice)
            else address_or_ble_device
        )
        self._connection = None
        self._peer: Peer | None = None

    @property
    def name(self) -> str:
        return str(self._peer_address)

    @property
    def mtu_size(self) -> int:
        return self._connection.att_mtu if self._connection else 23

    @property
    def is_connected(self) -> bool:
        return self._connection is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        central = await self.air.central()
        async with self.air._connect_lock:  # bumble allows one pending LE connection at a time
            try:
                self._connection = await asyncio.wait_for(
                    central.connect(self._peer_address), timeout=self._timeout
                )
            except TimeoutError:
                raise BleakError(f"could not connect to {self._peer_address}") from None
        self._connection.on("disconnection", self._on_disconnection)
        self._peer = Peer(self._connection)
        await self._discover()

    def _on_disconnection(self, *_args) -> None:
        self._connection = None
        if self._disconnected_callback:
            self._disconnected_callback()

    async def _discover(self) -> None:
        collection = BleakGATTServiceCollection()
        for service in await self._peer.discover_services():
            bservice = BleakGATTService(service, service.handle, _uuid_str(service.uuid))
            collection.add_service(bservice)
            for char in await service.discover_characteristics():
                props = [name for flag, name in PROPS if char.properties & flag]
                bchar = BleakGATTCharacteristic(
                    char,
                    char.handle,
                    _uuid_str(char.uuid),
                    props,
                    lambda: self.mtu_size - 3,
                    bservice,
                )
                collection.add_characteristic(bchar)
                for desc in await char.discover_descriptors():
                    collection.add_descriptor(
                        BleakGATTDescriptor(desc, desc.handle, _uuid_str(desc.type), bchar)
                    )
        self.services = collection

    async def disconnect(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.remove_listener("disconnection", self._on_disconnection)
            with contextlib.suppress(Exception):  # already gone
                await connection.disconnect()

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("pairing is not emulated")

    async def unpair(self) -> None:
        raise NotImplementedError("pairing is not emulated")

    async def read_gatt_char(
        self, characteristic, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await characteristic.obj.read_value())

    async def read_gatt_descriptor(
        self, descriptor, *, use_cached: bool = False, **kwargs: Any
    ) -> bytearray:
        return bytearray(await descriptor.obj.read_value())

    async def write_gatt_char(self, characteristic, data, response: bool) -> None:
        await characteristic.obj.write_value(bytes(data), with_response=response)

    async def write_gatt_descriptor(self, descriptor, data) -> None:
        await descriptor.obj.write_value(bytes(data), with_response=True)

    async def start_notify(self, characteristic, callback, **kwargs: Any) -> None:
        await characteristic.obj.subscribe(lambda value: callback(bytearray(value)))

    async def stop_notify(self, characteristic) -> None:
        await characteristic.obj.unsubscribe()
