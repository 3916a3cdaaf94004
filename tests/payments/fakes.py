"""Vendor fakes on loopback for the payments tests: localstripe (stateful) and Prism (Stripe's spec).

Each starts once per test session as a subprocess on a free 127.0.0.1 port and is stopped at the
end. Prism is launched by tests/prism.py (shared with the Xero and Twilio suites); without its CLI,
node or ../shared/vendor-specs the tests that need it skip and say why.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.prism import Prism, free_port, port_open, prism_binary, unavailable_reason, vendor_spec

ROOT = Path(__file__).resolve().parents[2]
STRIPE_SPEC = "stripe/spec3.prism-lite.json"  # in ../shared/vendor-specs


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
        while not self.ready and not port_open(self.port):
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


def prism_unavailable_reason() -> str | None:
    return unavailable_reason(STRIPE_SPEC)


def start_prism() -> Prism:
    """Started without waiting: loading the spec overlaps with test database creation."""
    # Loading the derived Stripe spec takes ~30 s on 2 cores; allow for a busy machine.
    return Prism(prism_binary(), vendor_spec(STRIPE_SPEC), args=["-v", "warn"], start_timeout=180)
