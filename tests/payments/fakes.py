"""Vendor fakes on loopback for the payments tests: localstripe (stateful) and Prism (Stripe's spec).

Each starts once per test session as a subprocess on a free 127.0.0.1 port and is stopped by its
own pid at the end. Prism needs ../shared/vendor-specs and the prism CLI (`npm install --prefix
.tools @stoplight/prism-cli@5`); without them the tests that need it skip and say why.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STRIPE_SPEC = ROOT.parent / "shared" / "vendor-specs" / "stripe" / "spec3.prism-lite.json"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Fake:
    def __init__(self, name: str, argv: list[str], port: int, *, ready_timeout: float):
        self.name, self.port = name, port
        self.url = f"http://127.0.0.1:{port}"
        # Kept open for the process lifetime, closed in stop().
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix=f"{name}-", suffix=".log", delete=False
        )
        self.process = subprocess.Popen(  # noqa: S603  (fixed argv, no shell)
            argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT
        )
        self.ready_timeout = ready_timeout
        self.ready = False

    def wait_ready(self) -> Fake:
        deadline = time.monotonic() + self.ready_timeout
        while not self.ready and not _port_open(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"{self.name} did not start; see {self.log.name}")
            time.sleep(0.1)
        self.ready = True
        return self

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()


def start_localstripe() -> Fake:
    port = free_port()
    script = str(Path(__file__).with_name("run_localstripe.py"))
    return Fake(
        "localstripe", [sys.executable, script, str(port)], port, ready_timeout=30
    ).wait_ready()


def prism_binary() -> str | None:
    local = ROOT / ".tools" / "node_modules" / ".bin" / "prism"
    if local.exists():
        return str(local)
    return shutil.which("prism")


def prism_unavailable_reason() -> str | None:
    if not STRIPE_SPEC.exists():
        return f"Stripe spec not found at {STRIPE_SPEC} (../shared is absent)"
    if prism_binary() is None:
        return "prism CLI not installed (npm install --prefix .tools @stoplight/prism-cli@5)"
    if shutil.which("node") is None:
        return "node is not installed, so Prism cannot run"
    return None


def start_prism() -> Fake:
    """Started without waiting: loading the spec overlaps with test database creation."""
    port = free_port()
    argv = [
        prism_binary(),
        "mock",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-v",
        "warn",
        str(STRIPE_SPEC),
    ]
    # Loading the derived Stripe spec takes ~30 s on 2 cores; allow for a busy machine.
    return Fake(
        "prism", argv, port, ready_timeout=float(os.environ.get("PRISM_START_TIMEOUT", 180))
    )
