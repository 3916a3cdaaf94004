"""The decoder interface every instrument family implements."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Advertisement:
    """What a scan tells us about a device, independent of bleak's types."""

    address: str
    name: str | None = None
    service_uuids: tuple[str, ...] = ()
    manufacturer_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class DecodedValue:
    """One decoded measurement. `value` is None when the instrument says "unknown"; `known` is
    False for a field whose meaning we have not confirmed (reported, never guessed)."""

    name: str
    value: float | None
    unit: str
    quantity: str | None = None  # our Quantity code when the field maps to one
    known: bool = True


@dataclass(frozen=True)
class Subscription:
    """A characteristic to subscribe to and, optionally, bytes to write first to start streaming."""

    characteristic: str
    enable_writes: tuple[tuple[str, bytes], ...] = ()


class Driver:
    """One instrument family. Subclasses set the class attributes and implement decode()."""

    family: str = ""
    label: str = ""
    supported: bool = True  # False: registered so the device is recognised, decoding not known yet
    subscriptions: tuple[Subscription, ...] = ()

    def matches(self, adv: Advertisement) -> bool:
        raise NotImplementedError

    def new_session(self) -> DriverSession:
        """Per-connection state (frame reassembly)."""
        return DriverSession(self)

    def decode(self, characteristic: str, data: bytes) -> list[DecodedValue]:
        raise NotImplementedError


@dataclass
class DriverSession:
    driver: Driver
    buffers: dict[str, bytearray] = field(default_factory=dict)

    def feed(self, characteristic: str, data: bytes) -> list[DecodedValue]:
        return self.driver.decode(characteristic, bytes(data))


class DecodeError(ValueError):
    """Bytes that do not form a valid message (bad length, bad CRC)."""


def uuid16(short: int) -> str:
    return f"0000{short:04x}-0000-1000-8000-00805f9b34fb"


def normalize_uuid(value: str) -> str:
    value = value.lower()
    if len(value) == 4:
        return uuid16(int(value, 16))
    return value


class DriverRegistry:
    def __init__(self) -> None:
        self._drivers: dict[str, Driver] = {}

    def register(self, driver: Driver) -> Driver:
        if driver.family in self._drivers:
            raise ValueError(f"driver {driver.family!r} registered twice")
        self._drivers[driver.family] = driver
        return driver

    def get(self, family: str) -> Driver:
        return self._drivers[family]

    def all(self) -> list[Driver]:
        return list(self._drivers.values())

    def match(self, adv: Advertisement) -> Driver | None:
        """The driver for an advertisement, or None: unknown devices are listed, not rejected."""
        for driver in self._drivers.values():
            try:
                if driver.matches(adv):
                    return driver
            except Exception:  # noqa: S112 - one odd advertisement must not stop a scan
                continue
        return None


registry = DriverRegistry()
