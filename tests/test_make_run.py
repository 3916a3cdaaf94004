"""What `make run` leaves behind and how it stops.

The embedded broker (kombu's filesystem transport) must keep every folder under var/broker/, and
the worker line of Procfile.dev must stop cleanly when honcho gets Ctrl-C.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Queue

from thorbis import settings as project_settings

ROOT = Path(project_settings.BASE_DIR)


def test_the_filesystem_broker_keeps_its_control_folder_under_var(tmp_path, monkeypatch):
    # A worker's remote-control mailbox (what `celery inspect`, mingle and gossip use) binds a
    # queue to a fanout exchange: kombu writes that table to control_folder, which defaulted to
    # ./control in the working directory, the repository root under `make run`.
    options = project_settings.filesystem_broker_options(tmp_path / "var" / "broker")
    repository = tmp_path / "repository"
    repository.mkdir()
    monkeypatch.chdir(repository)
    # kombu directly: a Celery app would take CELERY_BROKER_URL from the environment.
    with Connection("filesystem://localhost//", transport_options=options) as connection:
        # The queue a worker named probe@localhost declares for its mailbox.
        pidbox = Exchange("celery.pidbox", type="fanout", durable=False)
        Queue("probe@localhost.celery.pidbox", pidbox).bind(connection.default_channel).declare()

    assert list(repository.iterdir()) == []
    tables = sorted(p.name for p in (tmp_path / "var" / "broker" / "control").iterdir())
    assert "celery.pidbox.exchange" in tables


def test_the_embedded_default_sets_every_folder_of_the_filesystem_broker():
    options = project_settings.filesystem_broker_options(project_settings.BROKER_DIR)
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "control_folder"):
        assert Path(options[key]).is_relative_to(project_settings.VAR_DIR), key
        assert Path(options[key]).is_dir(), key


def _procfile_line(name: str) -> str:
    for line in (ROOT / "Procfile.dev").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line
    raise AssertionError(f"no {name} in Procfile.dev")


@pytest.mark.skipif(
    shutil.which("honcho", path=str(Path(sys.executable).parent)) is None,
    reason="honcho is not installed beside this interpreter",
)
def test_ctrl_c_stops_the_worker_without_errors(tmp_path):
    procfile = tmp_path / "Procfile"
    procfile.write_text(_procfile_line("worker") + "\n")
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "DJANGO_SETTINGS_MODULE": "thorbis.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CELERY_BROKER_URL": "memory://localhost//",  # no task arrives; the pool is what matters
        "SECRET_KEY": "make-run-test",
        "FIELD_ENCRYPTION_KEYS": "make-run-test",
        "PYTHONUNBUFFERED": "1",
    }
    log = tmp_path / "honcho.log"
    with log.open("w") as out:
        honcho = subprocess.Popen(  # noqa: S603 - fixed argv
            [str(Path(bin_dir) / "honcho"), "-d", str(ROOT), "-f", str(procfile), "start"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 90
            while not re.search(r"celery@\S+ ready", log.read_text()):
                assert honcho.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.3)
            honcho.send_signal(signal.SIGINT)  # what Ctrl-C in the terminal sends it
            honcho.wait(timeout=30)
        finally:
            if honcho.poll() is None:
                honcho.kill()
    output = log.read_text()
    assert "Warm shutdown" in output
    assert re.search(r"worker\.1 stopped", output)
    # Prefork pool children killed under their parent log "exited with 'signal 15'" as ERROR.
    assert not re.search(r"ERROR|CRITICAL|Traceback|signal 15", output), output
