"""The capture benchmark: the agent linked to emulated probes streaming at a fixed rate, with the
server unreachable for part of the run. Counts come from the probes (sent), the server's
database (stored) and the agent's queue (upload lag)."""

from __future__ import annotations

import asyncio
import math
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from apps.diagnostics.agent.capture import CaptureConfig
from apps.diagnostics.agent.queue import DurableQueue
from apps.diagnostics.agent.runner import Agent
from apps.diagnostics.agent.uploader import Uploader


@dataclass
class Plan:
    server: str
    token: str
    work_order: int
    probes: int = 4
    rate_hz: float = 1.0
    seconds: float = 60.0
    outage_start: float = 15.0
    outage_seconds: float = 20.0


def p95(values: list[float]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


async def _run(plan: Plan, proxy, queue_path: Path) -> dict:
    from apps.diagnostics.emulation.bleak_bridge import Air
    from apps.diagnostics.emulation.probes import EssProbe, TestoProbe

    air = Air()
    scanner, client = air.backends()
    probes = []
    for i in range(plan.probes):
        if i % 2:
            probes.append(
                TestoProbe(
                    air.link,
                    serial=f"{10000000 + i}",
                    pascal=(800_000.0 + i,),
                    rate_hz=plan.rate_hz,
                )
            )
        else:
            probes.append(
                EssProbe(
                    air.link,
                    name=f"ESS Probe {i}",
                    serial=f"ESS{i:04d}",
                    values=(20.0 + i,),
                    rate_hz=plan.rate_hz,
                )
            )
    for p in probes:
        await p.start()
    queue = DurableQueue(queue_path)
    agent = Agent(
        queue=queue,
        uploader=Uploader(server=proxy.url, token=plan.token, queue=queue, timeout=3),
        config=CaptureConfig(work_order=plan.work_order),
        scanner_backend=scanner,
        client_backend=client,
        upload_interval=1.0,
    )
    loop = asyncio.get_running_loop()
    loop.call_later(plan.outage_start, setattr, proxy, "up", False)
    loop.call_later(plan.outage_start + plan.outage_seconds, setattr, proxy, "up", True)
    cpu0, wall0 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    run = asyncio.create_task(agent.run(scan_seconds=1.0))
    await asyncio.sleep(plan.seconds)
    for p in probes:  # stop the instruments first, so nothing is in flight when the agent stops
        await p.stop()
    await asyncio.sleep(0.5)
    agent.stop.set()
    await run
    proxy.up = True
    while queue.stats().pending:  # drain what the outage left, as the agent would
        await asyncio.to_thread(agent.uploader.flush)
    cpu1, wall1 = resource.getrusage(resource.RUSAGE_SELF), time.monotonic()
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    result = {
        "sent": sum(p.sent for p in probes),
        "queued": queue.stats().queued,
        "client_ids": [r for r in _all_ids(queue)],
        "upload_lag_p95_s": round(p95(queue.upload_lags()), 3),
        "agent_cpu_pct": round(100 * cpu / (wall1 - wall0), 1),
    }
    queue.close()
    return result


def _all_ids(queue: DurableQueue) -> list[str]:
    with queue._lock:
        return [c for (c,) in queue._db.execute("SELECT client_id FROM outbox")]


def benchmark_run(plan: Plan, *, count_stored) -> dict:
    """`count_stored(client_ids) -> (rows, distinct)` reads the server's database."""
    from apps.diagnostics.emulation.proxy import SwitchableProxy

    target = urlparse(plan.server)
    proxy = SwitchableProxy(target.hostname, target.port)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            raw = asyncio.run(_run(plan, proxy, Path(tmp) / "agent.sqlite3"))
    finally:
        proxy.close()
    rows, distinct = count_stored(raw["client_ids"])
    return {
        "sent": raw["sent"],
        "stored": rows,
        "lost": raw["sent"] - distinct,
        "duplicates": rows - distinct,
        "upload_lag_p95_s": raw["upload_lag_p95_s"],
        "agent_cpu_pct": raw["agent_cpu_pct"],
        "probes": plan.probes,
        "rate_hz": plan.rate_hz,
        "seconds": plan.seconds,
        "outage_s": plan.outage_seconds,
    }
