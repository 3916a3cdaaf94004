"""The agent's main loop and its command line (shared by `manage.py diagnostics_agent` and
`python -m apps.diagnostics.agent`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys

from apps.diagnostics.agent.capture import CaptureConfig, Counters, InstrumentLink, scan
from apps.diagnostics.agent.queue import DurableQueue
from apps.diagnostics.agent.uploader import AuthRefused, Uploader

log = logging.getLogger("diagnostics.agent")


class Agent:
    def __init__(
        self,
        *,
        queue: DurableQueue,
        uploader: Uploader,
        config: CaptureConfig,
        scanner_backend=None,
        client_backend=None,
        upload_interval: float = 2.0,
        reconnect_delay: float = 2.0,
    ):
        self.queue, self.uploader, self.config = queue, uploader, config
        self.scanner_backend, self.client_backend = scanner_backend, client_backend
        self.upload_interval = upload_interval
        self.reconnect_delay = reconnect_delay
        self.counters = Counters()
        self.stop = asyncio.Event()

    async def _keep_linked(self, seen) -> None:
        while not self.stop.is_set():
            link = InstrumentLink(
                seen,
                queue=self.queue,
                config=self.config,
                backend=self.client_backend,
                counters=self.counters,
            )
            try:
                await link.run(self.stop)
            except Exception as exc:
                log.warning("lost %s (%s); reconnecting", seen.address, exc)
            if not self.stop.is_set():
                await asyncio.sleep(self.reconnect_delay)

    async def _upload_loop(self) -> None:
        while True:
            try:
                await asyncio.to_thread(self.uploader.flush)
            except AuthRefused:
                log.error("token refused; readings stay queued until the token is fixed")
            if self.stop.is_set():
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop.wait(), self.upload_interval)

    async def run(self, *, scan_seconds: float = 5.0, duration: float | None = None) -> None:
        devices = await scan(timeout=scan_seconds, backend=self.scanner_backend)
        for s in devices:
            log.info("found %s %s: %s", s.address, s.name or "", s.status)
        usable = [s for s in devices if s.driver is not None and s.driver.supported]
        tasks = [asyncio.create_task(self._keep_linked(s)) for s in usable]
        uploads = asyncio.create_task(self._upload_loop())
        if duration is not None:
            asyncio.get_running_loop().call_later(duration, self.stop.set)
        await self.stop.wait()
        await asyncio.gather(*tasks, return_exceptions=True)
        await uploads  # one last flush after capture stops


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        description="Capture readings from BLE instruments and upload them."
    )
    p.add_argument("--server", help="e.g. https://hub.example.com")
    p.add_argument("--token", help="API token (Authorization: Token ...)")
    p.add_argument("--work-order", type=int, help="work order id the readings belong to")
    p.add_argument("--equipment", type=int, default=None)
    p.add_argument("--phase", choices=["in", "out"], default="in")
    p.add_argument("--queue", default="diagnostics-queue.sqlite3", help="durable queue file")
    p.add_argument("--assign", action="append", default=[], metavar="SERIAL[:QTY]=QUANTITY")
    p.add_argument("--scan-seconds", type=float, default=5.0)
    p.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    p.add_argument("--list", action="store_true", help="only list instruments in range")
    p.add_argument("--flush", action="store_true", help="only upload what is queued, then exit")
    return p


def main(argv: list[str] | None = None, *, out=None) -> int:
    out = out or sys.stdout
    args = parser().parse_args(argv)
    if args.list:
        for s in asyncio.run(scan(timeout=args.scan_seconds)):
            print(f"{s.address}  {s.name or '-':30}  {s.status}", file=out)
        return 0
    missing = [n for n in ("server", "token") if not getattr(args, n)]
    if not args.flush and args.work_order is None:
        missing.append("work-order")
    if missing:
        print(f"error: missing --{', --'.join(missing)}", file=sys.stderr)
        return 2
    assign = {}
    for item in args.assign:
        key, sep, quantity = item.rpartition("=")
        if not sep or not key:
            print(f"error: --assign {item!r} must look like SERIAL=quantity", file=sys.stderr)
            return 2
        assign[key] = quantity
    queue = DurableQueue(args.queue)
    uploader = Uploader(server=args.server, token=args.token, queue=queue)
    try:
        if args.flush:
            result = uploader.flush()
            print(
                f"sent {result.sent}, rejected {result.rejected}, pending {queue.stats().pending}",
                file=out,
            )
            return 1 if result.offline else 0
        config = CaptureConfig(
            work_order=args.work_order, phase=args.phase, equipment=args.equipment, assign=assign
        )
        agent = Agent(queue=queue, uploader=uploader, config=config)
        asyncio.run(agent.run(scan_seconds=args.scan_seconds, duration=args.duration))
        st = queue.stats()
        print(
            f"queued {st.queued}, sent {st.sent}, pending {st.pending}, rejected {st.rejected}",
            file=out,
        )
        return 0
    except AuthRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    finally:
        queue.close()
