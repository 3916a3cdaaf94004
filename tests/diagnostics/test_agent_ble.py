"""The agent's unmodified bleak code against instruments emulated in-process with bumble
(virtual controllers on a LocalLink; apps/diagnostics/emulation), uploading to a live server."""

import asyncio

import pytest
from rest_framework.authtoken.models import Token

from apps.diagnostics.agent.capture import CaptureConfig, scan
from apps.diagnostics.agent.queue import DurableQueue
from apps.diagnostics.agent.runner import Agent
from apps.diagnostics.agent.uploader import Uploader
from apps.diagnostics.models import Reading
from tests.diagnostics.test_agent_queue import dead_address

pytest.importorskip("bumble", reason="bumble emulates the instruments")

from apps.diagnostics.emulation.bleak_bridge import Air
from apps.diagnostics.emulation.probes import EmulatedProbe, EssProbe, TestoProbe, _adv


class Stranger(EmulatedProbe):
    """Something else in range: a phone, or an instrument we cannot decode yet."""

    def __init__(self, link, name):
        super().__init__(link, name)
        self.device.advertising_data = _adv(name, None)

    async def notify_once(self):
        pass


def test_scan_lists_known_and_unknown_devices():
    async def go():
        air = Air()
        scanner, _ = air.backends()
        probes = [
            EssProbe(air.link),
            TestoProbe(air.link),
            Stranger(air.link, "Pixel 9"),
            Stranger(air.link, "JL3PR 77"),
        ]
        for p in probes:
            await p.start()
        try:
            return {s.name: s.status for s in await scan(timeout=0.8, backend=scanner)}
        finally:
            for p in probes:
                await p.stop()

    seen = asyncio.run(go())
    assert seen == {
        "ESS Probe": "supported",
        "T549i SN:12345678": "supported",
        "Pixel 9": "unknown device",
        "JL3PR 77": "fieldpiece: format not yet known",
    }


@pytest.mark.django_db(transaction=True)
def test_probes_to_server_through_an_outage_and_a_restart(
    live_server, technician, work_order, tmp_path
):
    token = Token.objects.get_or_create(user=technician.user)[0].key
    path = tmp_path / "agent.sqlite3"
    config = CaptureConfig(
        work_order=work_order.pk,
        assign={"12345678": "suction_pressure", "temperature": "suction_line_temp"},
    )

    async def session(air, server, seconds):
        scanner, client = air.backends()
        queue = DurableQueue(path)
        agent = Agent(
            queue=queue,
            uploader=Uploader(server=server, token=token, queue=queue, timeout=2),
            config=config,
            scanner_backend=scanner,
            client_backend=client,
            upload_interval=0.3,
        )
        await agent.run(scan_seconds=0.6, duration=seconds)
        stats = queue.stats()
        queue.close()
        return agent.counters, stats

    async def go():
        air = Air()
        ess = EssProbe(
            air.link, values=(12.5, None, 13.0), rate_hz=5
        )  # None: the "unknown" sentinel
        testo = TestoProbe(air.link, pascal=(815_000.0,), rate_hz=5)
        for p in (ess, testo):
            await p.start()
        try:
            # Offline the whole first session, then the laptop restarts with signal.
            first = await session(air, dead_address(), 1.5)
            second = await session(air, live_server.url, 1.5)
        finally:
            for p in (ess, testo):
                await p.stop()
        return first, second, ess, testo

    (c1, s1), (c2, s2), _ess, testo = asyncio.run(go())

    assert s1.sent == 0 and s1.pending == c1.queued > 0  # captured offline, kept
    assert s2.pending == 0 and s2.sent == s2.queued == c1.queued + c2.queued  # all delivered once
    stored = Reading.objects.filter(work_order=work_order)
    assert stored.count() == s2.queued
    assert stored.values("client_id").distinct().count() == stored.count()
    assert c1.unknown + c2.unknown > 0 and not stored.filter(value=None).exists()
    pressures = stored.filter(quantity="suction_pressure")
    assert pressures.exists() and {str(v) for v in pressures.values_list("value", flat=True)} == {
        "815000.0000"
    }
    assert {p.instrument.serial for p in pressures} == {"12345678"} and pressures[
        0
    ].instrument.family == "testo"
    temps = stored.filter(quantity="suction_line_temp")
    assert {float(v) for v in temps.values_list("value", flat=True)} <= {12.5, 13.0}
    assert temps[0].instrument.serial == "ESS0001" and temps[0].capture_method == "ble"
    assert testo.writes[:3] == [bytes.fromhex("5600030000000c69023e81"), bytes.fromhex("200000000000077b"),
                                bytes.fromhex("110000000000035a")]  # fmt: skip
