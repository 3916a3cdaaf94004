"""CPU seconds spent by each party of the benchmark, so a loaded machine does not blur the figures.

Wall-clock rates depend on what else runs; CPU time per send does not. Read from /proc (Linux):
the Celery worker and its pool processes, the PostgreSQL backends serving the scratch database,
the Redis server (INFO; shared with whoever else uses it) and this process (the loopback Twilio
server and the driver).
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == pid:
            found.append(int(entry.name))
    return found


def tree_cpu(pid: int) -> float:
    return _proc_cpu(pid) + sum(_proc_cpu(child) for child in _children(pid))


def _reaped_cpu(pid: int) -> float:
    """CPU of a process's children that have exited (cutime + cstime)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[13]) + int(fields[14])) / _TICK


def postgres_cpu() -> dict[int, float]:
    """Live backends of this database (pid -> CPU s), plus key 0: CPU of backends that exited.

    A backend lives as long as its connection (Celery closes a task's connection after the task
    unless CELERY_DB_REUSE_MAX is set), so exited ones are counted from the postmaster's reaped
    children: that figure includes other databases' sessions on a shared server.
    """
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )
        pids = [row[0] for row in cur.fetchall()]
        cur.execute("SELECT pg_backend_pid()")
        own = cur.fetchone()[0]
    found = {pid: _proc_cpu(pid) for pid in pids}
    try:
        postmaster = int(Path(f"/proc/{own}/stat").read_text().rsplit(")", 1)[1].split()[1])
        found[0] = _reaped_cpu(postmaster)
    except (OSError, ValueError, IndexError):
        pass
    return found


def redis_cpu(url: str) -> float:
    import redis

    info = redis.Redis.from_url(url).info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class CpuMeter:
    """CPU seconds per party between start() and stop()."""

    def __init__(self, *, worker_pid: int, redis_url: str):
        self.worker_pid, self.redis_url = worker_pid, redis_url

    def _snapshot(self) -> dict:
        return {
            "worker": tree_cpu(self.worker_pid),
            "postgres": postgres_cpu(),
            "redis": redis_cpu(self.redis_url),
            "driver_and_twilio_loopback": self_cpu(),
        }

    def start(self) -> None:
        self._start = self._snapshot()

    def stop(self) -> dict[str, float]:
        end = self._snapshot()
        start_pg, end_pg = self._start["postgres"], end["postgres"]
        live = sum(v - start_pg.get(pid, 0.0) for pid, v in end_pg.items() if pid)
        return {
            "worker": end["worker"] - self._start["worker"],
            "postgres_open_backends": live,
            # Upper bound: includes other databases' sessions that ended meanwhile.
            "postgres_ended_backends_all_dbs": end_pg.get(0, 0.0) - start_pg.get(0, 0.0),
            "redis": end["redis"] - self._start["redis"],
            "driver_and_twilio_loopback": end["driver_and_twilio_loopback"]
            - self._start["driver_and_twilio_loopback"],
        }
