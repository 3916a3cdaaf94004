"""Stoplight Prism on 127.0.0.1 serving a vendor's official OpenAPI document: the one launcher.

The accounting (Xero), payments (Stripe) and comms (Twilio) suites start Prism through here. The
CLI comes from .tools (`npm install --prefix .tools @stoplight/prism-cli@5`), PRISM_BIN or PATH;
the specs from ../shared/vendor-specs (or VENDOR_SPECS_DIR). When something is missing,
`unavailable_reason()` says what, for pytest.skip. PRISM_START_TIMEOUT overrides every suite's
start-up allowance (loading a large spec takes tens of seconds on a busy 2-core machine).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALL_HINT = "npm install --prefix .tools @stoplight/prism-cli@5"


def specs_dir() -> Path:
    return Path(os.environ.get("VENDOR_SPECS_DIR", ROOT.parent / "shared" / "vendor-specs"))


def vendor_spec(relative: str) -> Path | None:
    path = specs_dir() / relative
    return path if path.is_file() else None


def prism_binary() -> str | None:
    for candidate in (os.environ.get("PRISM_BIN", ""), ROOT / ".tools/node_modules/.bin/prism"):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return shutil.which("prism")


def unavailable_reason(*specs: str) -> str | None:
    """Why Prism cannot serve these specs (paths relative to the specs folder), or None."""
    for relative in specs:
        if vendor_spec(relative) is None:
            return f"{relative} not found in {specs_dir()} (is ../shared present?)"
    if prism_binary() is None:
        return f"prism CLI not installed ({INSTALL_HINT})"
    if shutil.which("node") is None:
        return "node is not installed, so Prism cannot run"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Prism:
    """`prism mock` started at once (loading overlaps other set-up); wait_ready() before use."""

    def __init__(
        self,
        binary: str,
        spec: Path,
        *,
        name: str = "prism",
        args: Sequence[str] = (),
        start_timeout: float = 180,
    ):
        self.name, self.port = name, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.start_timeout = float(os.environ.get("PRISM_START_TIMEOUT", start_timeout))
        # Kept on disk after the run so a failed start-up can be read; closed in stop().
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix=f"{name}-", suffix=".log", delete=False
        )
        argv = [binary, "mock", "-h", "127.0.0.1", "-p", str(self.port), *args, str(spec)]
        # Its own process group, so stop() also ends anything node spawned.
        self.process = subprocess.Popen(  # noqa: S603  (fixed argv, no shell)
            argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True
        )
        self.ready = False

    def wait_ready(self) -> Prism:
        deadline = time.monotonic() + self.start_timeout
        while not self.ready and not port_open(self.port):
            code = self.process.poll()
            if code is not None or time.monotonic() > deadline:
                self.stop()
                why = (
                    f"exited with {code}"
                    if code is not None
                    else f"not up in {self.start_timeout:g} s"
                )
                raise RuntimeError(
                    f"{self.name} did not start ({why}); see {self.log.name}:\n{self._tail()}"
                )
            time.sleep(0.1)
        self.ready = True
        return self

    wait = wait_ready  # the name the Xero tests call

    def _tail(self, lines: int = 20) -> str:
        return "".join(Path(self.log.name).read_text(errors="replace").splitlines(True)[-lines:])

    def stop(self) -> None:
        self._signal(signal.SIGTERM)  # the whole group, even if its leader has already exited
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.process.wait(timeout=10)
        self.log.close()

    def _signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):  # already gone
            os.killpg(self.process.pid, sig)
