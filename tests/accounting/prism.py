"""Start Stoplight Prism on 127.0.0.1 serving a vendor's official OpenAPI document.

Prism is installed with npm into .tools/ (`npm install --prefix .tools @stoplight/prism-cli@5.14.2`)
or found through PRISM_BIN or PATH; the specs live in ../shared/vendor-specs. Either missing means
the tests that need them skip, saying which.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

from django.conf import settings

STARTUP_TIMEOUT_S = 180  # the Xero accounting spec takes ~20 s alone on 2 cores


def prism_binary() -> str | None:
    candidates = [
        os.environ.get("PRISM_BIN", ""),
        str(Path(settings.BASE_DIR) / ".tools/node_modules/.bin/prism"),
    ]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return candidate
    return shutil.which("prism")


def vendor_spec(relative: str) -> Path | None:
    root = Path(
        os.environ.get("VENDOR_SPECS_DIR", Path(settings.BASE_DIR).parent / "shared/vendor-specs")
    )
    path = root / relative
    return path if path.is_file() else None


def _free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Prism:
    def __init__(self, binary: str, spec: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ready = threading.Event()
        self.output: list[str] = []
        self.process = subprocess.Popen(  # noqa: S603 (our own binary and arguments)
            [binary, "mock", "-h", "127.0.0.1", "-p", str(self.port), str(spec)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._watch, daemon=True).start()

    def _watch(self) -> None:
        for line in self.process.stdout:
            if len(self.output) < 200:
                self.output.append(line)
            if "Prism is listening" in line:
                self.ready.set()

    def wait(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self.ready.wait(0.5):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("Prism did not start:\n" + "".join(self.output[-20:]))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
