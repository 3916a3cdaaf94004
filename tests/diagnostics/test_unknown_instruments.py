"""Fieldpiece and UEi are registrations to fill in as their formats become known; unknown devices
are listed, never connected to, and never crash a scan or a capture session."""

import asyncio
import struct

import pytest

from apps.diagnostics.agent.capture import CaptureConfig
from apps.diagnostics.agent.queue import DurableQueue
from apps.diagnostics.agent.runner import Agent
from apps.diagnostics.agent.uploader import Uploader
from apps.diagnostics.instruments import Advertisement, DecodedValue, Driver, DriverRegistry
from apps.diagnostics.instruments import registry as instruments
from apps.diagnostics.instruments.base import Subscription
from apps.diagnostics.models import Instrument, Reading
from tests.diagnostics.test_agent_queue import dead_address

pytest.importorskip("bumble", reason="bumble emulates the instruments")

from bumble import gatt

from apps.diagnostics.emulation.bleak_bridge import Air
from apps.diagnostics.emulation.probes import EmulatedProbe, EssProbe, _adv

# A made-up GATT layout standing in for a format captured later (nothing here is Fieldpiece's).
FILLED_SERVICE = "8d3a0001-0000-4000-8000-00000000f1e1"
FILLED_CHAR = "8d3a0002-0000-4000-8000-00000000f1e1"


class Device(EmulatedProbe):
    """An advertiser that counts the centrals connecting to it; it streams a uint16 if asked."""

    def __init__(self, link, name, *, values=()):
        super().__init__(link, name, rate_hz=5)
        self.connections = 0
        self.device.on("connection", self._connected)
        self.values = list(values)
        self.stream_char = gatt.Characteristic(
            FILLED_CHAR,
            gatt.Characteristic.Properties.NOTIFY,
            gatt.Characteristic.READABLE,
            b"",
        )
        if self.values:
            self.device.add_services([gatt.Service(FILLED_SERVICE, [self.stream_char])])
        self.device.advertising_data = _adv(name, None)

    def _connected(self, _connection):
        self.connections += 1

    async def notify_once(self):
        value = self.values[self.sent % len(self.values)]
        self.sent += 1
        await self.device.notify_subscribers(self.stream_char, struct.pack("<H", value))


def run_agent(devices_factory, path, seconds=1.2):
    async def go():
        air = Air()
        devices = devices_factory(air.link)
        for d in devices:
            await d.start()
        scanner, client = air.backends()
        queue = DurableQueue(path)
        agent = Agent(
            queue=queue,
            uploader=Uploader(server=dead_address(), token="t", queue=queue, timeout=1),
            config=CaptureConfig(work_order=1),
            scanner_backend=scanner,
            client_backend=client,
            upload_interval=0.3,
        )
        try:
            await agent.run(scan_seconds=0.6, duration=seconds)
        finally:
            for d in devices:
                await d.stop()
        rows = queue.pending(limit=1000)
        queue.close()
        return devices, agent.counters, rows

    return asyncio.run(go())


def test_registrations_exist_unsupported_and_report_nothing_as_known():
    for family, name in (("fieldpiece", "SMAN460"), ("uei", "DL599")):
        driver = instruments.get(family)
        assert driver.supported is False and driver.subscriptions == ()
        assert instruments.match(Advertisement("a", name)) is driver
        assert all(not v.known for v in driver.new_session().feed("x", b"\x00\x01\x02"))


def test_a_driver_that_fails_to_match_does_not_stop_a_scan():
    class Broken(Driver):
        family = "broken"

        def matches(self, adv):
            raise IndexError("bad advertisement")

    registry = DriverRegistry()
    registry.register(Broken())
    registry.register(type(instruments.get("uei"))())
    assert registry.match(Advertisement("a", "UEi HUB")).family == "uei"
    assert registry.match(Advertisement("a", "Pixel 9")) is None
    with pytest.raises(ValueError, match="registered twice"):
        registry.register(Broken())


def test_agent_lists_but_never_connects_to_unknown_or_undecodable_devices(tmp_path):
    devices, counters, rows = run_agent(
        lambda link: [
            EssProbe(link, values=(20.0,), rate_hz=5),
            Device(link, "JL3PR 77"),
            Device(link, "UEi DL599"),
            Device(link, "Pixel 9"),
        ],
        tmp_path / "q.sqlite3",
    )
    ess, *others = devices
    assert ess.sent > 0 and counters.queued > 0 and rows
    assert {r["instrument_family"] for r in rows} == {"ess"}
    assert [d.connections for d in others] == [0, 0, 0]


def test_a_filled_in_registration_captures_without_agent_changes(
    tmp_path, monkeypatch, tech_client, work_order
):
    """Filling in Fieldpiece = setting `supported`, `subscriptions` and `decode` on its driver."""
    driver = instruments.get("fieldpiece")

    def decode(characteristic, data):
        (tenths,) = struct.unpack("<H", data)
        return [DecodedValue("pressure", tenths / 10, "psig", quantity="suction_pressure")]

    monkeypatch.setattr(driver, "supported", True)
    monkeypatch.setattr(driver, "subscriptions", (Subscription(FILLED_CHAR),))
    monkeypatch.setattr(driver, "decode", decode)

    devices, counters, rows = run_agent(
        lambda link: [Device(link, "JL3PR 77", values=(1185, 1190))], tmp_path / "q.sqlite3"
    )
    [probe] = devices
    assert probe.connections == 1 and probe.sent > 0 and counters.queued == len(rows) > 0
    assert {r["instrument_family"] for r in rows} == {"fieldpiece"}
    assert {r["value"] for r in rows} <= {"118.5000", "119.0000"}

    # The server takes the readings as they are (family included) through the public API.
    for row in rows:
        row["work_order"] = work_order.pk
    response = tech_client.post("/api/v1/diagnostics/readings/", {"readings": rows}, format="json")
    assert response.status_code == 201, response.json()
    assert Reading.objects.filter(work_order=work_order).count() == len(rows)
    assert Instrument.objects.get().family == "fieldpiece"
