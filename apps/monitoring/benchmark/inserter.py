"""A separate process that inserts activity rows one at a time, as the framework's tracked()
does from web and worker processes, and reports how long each insert took.

Run by monitoring_benchmark: connection settings come as JSON in MONITORING_BENCH_INSERTER; it inserts
until its standard input closes, then prints the latencies (ms) as JSON. Its own process, so
nothing in the benchmark's process (the GIL, its Python work) can delay it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import select
import sys
import time

import psycopg

INSERT = (
    "INSERT INTO integrations_integrationactivity (business_id, connection_id, kind, operation, "
    "outcome, status_code, duration_ms, error_message, occurred_at) "
    "VALUES (%s, %s, 'api_call', 'GET live', 'success', 200, 50, '', %s)"
)


def main() -> None:
    options = json.loads(os.environ["MONITORING_BENCH_INSERTER"])
    business_id, connection_id = options.pop("business_id"), options.pop("connection_id")
    latencies: list[tuple[float, float]] = []  # (seconds since start, ms)
    origin = time.perf_counter()
    with psycopg.connect(**options, autocommit=True) as conn:
        print("ready", flush=True)
        while True:
            ready, _, _ = select.select([sys.stdin], [], [], 0.005)
            if ready and not sys.stdin.readline():
                break
            started = time.perf_counter()
            conn.execute(INSERT, (business_id, connection_id, dt.datetime.now(dt.UTC)))
            latencies.append((started - origin, (time.perf_counter() - started) * 1000))
    print(json.dumps(latencies), flush=True)


if __name__ == "__main__":
    main()
