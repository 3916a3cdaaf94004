"""CPU time of the processes a benchmark run involves, from /proc (load-independent figures).

Wall-clock rates on a shared, loaded machine measure the contention; CPU milliseconds per event
(gunicorn workers, PostgreSQL backends, the load generator) do not, and they add up to what the
2 cores must supply: 2000 CPU-ms per second, so 500 events/s needs the whole path under ~4 ms.
"""

from __future__ import annotations

import os
from pathlib import Path

_TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


def process_cpu_ms(pid: int) -> float:
    """utime + stime of one process (all its threads), in ms; 0 if it has gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # the command name may contain spaces
    return (int(fields[11]) + int(fields[12])) * _TICK_MS


def children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(p) for p in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def total_cpu_ms(pids: list[int]) -> float:
    return sum(process_cpu_ms(p) for p in pids)


def self_cpu_ms() -> float:
    times = os.times()
    return (times.user + times.system) * 1000


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"
