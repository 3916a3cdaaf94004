"""Run the benchmark: scratch database, gunicorn on loopback, concurrent signed POSTs, verify."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connections

from apps.integrations.models import InboundEvent
from apps.payments.benchmark import cpu, scenario
from apps.payments.models import StripePaymentIntent
from apps.payments.providers.stripe import webhook_signature_header
from apps.payments.webhooks.drain import drain_all

ROOT = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ScratchDatabase:
    """A throwaway database on the configured PostgreSQL server, so the benchmark never touches
    real data; the command's own connection is pointed at it while it runs."""

    def __init__(self):
        db = settings.DATABASES["default"]
        if not db["ENGINE"].endswith("postgresql"):
            raise RuntimeError("The benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
        self.settings = db
        self.original = db["NAME"]
        self.name = f"{self.original}_webhook_bench_{uuid.uuid4().hex[:8]}"

    def _params(self) -> dict:
        return {
            k: v
            for k, v in {
                "host": self.settings.get("HOST") or None,
                "port": self.settings.get("PORT") or None,
                "user": self.settings.get("USER") or None,
                "password": self.settings.get("PASSWORD") or None,
            }.items()
            if v
        }

    def _admin(self, sql: str) -> None:
        self.query(sql)

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        with psycopg.connect(dbname="postgres", autocommit=True, **self._params()) as conn:
            cursor = conn.execute(sql, params or None)
            return cursor.fetchall() if cursor.description else []

    def url(self) -> str:
        s = self.settings
        auth = s.get("USER") or "postgres"
        if s.get("PASSWORD"):
            auth += f":{s['PASSWORD']}"
        return (
            f"postgres://{auth}@{s.get('HOST') or '127.0.0.1'}:{s.get('PORT') or 5432}/{self.name}"
        )

    def __enter__(self) -> ScratchDatabase:
        self._admin(f'CREATE DATABASE "{self.name}"')
        connections["default"].close()
        self.settings["NAME"] = self.name
        call_command("migrate", verbosity=0, interactive=False)
        return self

    def __exit__(self, *exc) -> None:
        connections["default"].close()
        self.settings["NAME"] = self.original
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class Gunicorn:
    def __init__(self, *, database_url: str, workers: int, threads: int, worker_class: str):
        self.port = _free_port()
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "LOG_LEVEL": "WARNING",
            "DJANGO_DEBUG": "false",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or settings.SECRET_KEY,
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            # The benchmark drains the inbox itself (below), so the web side's enqueue needs no
            # broker; kombu's in-memory transport keeps it a no-op instead of a network call.
            "CELERY_BROKER_URL": "memory://",
            "DJANGO_SETTINGS_MODULE": "thorbis.settings",
        }
        argv = [
            sys.executable,
            "-m",
            "gunicorn",
            "thorbis.wsgi",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            worker_class,
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ]
        self.process = subprocess.Popen(argv, cwd=ROOT, env=env)  # noqa: S603
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.1)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()


def _request_bytes(port: int, path: str, body: str, secret: str) -> bytes:
    """One complete HTTP/1.1 request, signed now: all of them are built before the clock starts."""
    data = body.encode()
    signature = webhook_signature_header(payload=body, secret=secret)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nStripe-Signature: {signature}\r\n"
        f"Content-Length: {len(data)}\r\n\r\n"
    )
    return head.encode() + data


async def _client(port: int, requests: list[bytes], results: list) -> None:
    """A keep-alive connection sending its share one request at a time (raw asyncio streams:
    the load generator shares the 2 cores with the server, so it must cost little)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        for raw in requests:
            started = time.perf_counter()
            writer.write(raw)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head[9:12])
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            data = await reader.readexactly(length)
            elapsed = time.perf_counter() - started
            results.append((status, elapsed, status == 200 and b'"duplicate": true' in data))
            if head.lower().find(b"connection: close") >= 0:  # e.g. gunicorn's sync worker
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
    finally:
        writer.close()


def _post_all(port: int, requests: list[bytes], concurrency: int) -> tuple[list, float]:
    results: list = []
    chunks = [requests[i::concurrency] for i in range(concurrency)]

    async def main() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(_client(port, chunk, results) for chunk in chunks if chunk))
        return time.perf_counter() - started

    return results, asyncio.run(main())


def _backend_pids(scratch: ScratchDatabase) -> tuple[list[int], int]:
    """PostgreSQL backends serving the scratch database, and its transaction count so far."""
    rows = scratch.query(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
        (scratch.name,),
    )
    xacts = scratch.query(
        "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
        (scratch.name,),
    )
    return [r[0] for r in rows], int(xacts[0][0])


def run(
    *,
    events: int,
    concurrency: int,
    workers: int,
    threads: int,
    seed_value: int,
    log,
    worker_class: str = "gthread",
) -> dict:
    from celery import current_app

    # Tasks enqueued while seeding (other apps react to new work orders) and by the drain stay in
    # this process: the benchmark must not feed a developer's broker or worker.
    current_app.conf.broker_url = "memory://"
    current_app.conf.broker_transport_options = {}
    rng = random.Random(seed_value)  # noqa: S311  (reproducible test data, not secrets)
    secret = f"whsec_bench_{uuid.uuid4().hex}"
    invoices = max(1, round(events / 1.4) + 5)  # stories average ~1.55 events; seed a margin
    t0 = time.perf_counter()
    with ScratchDatabase() as scratch:
        log(f"Migrated the scratch database in {time.perf_counter() - t0:.1f} s.")
        log(f"Scratch database {scratch.name}: seeding {invoices} invoices...")
        t0 = time.perf_counter()
        connection, planned = scenario.seed(invoices=invoices, webhook_secret=secret, rng=rng)
        log(f"Seeded in {time.perf_counter() - t0:.1f} s.")
        planned, all_events = scenario.events_for(planned, limit=events)
        bodies, duplicates = scenario.deliveries(all_events, duplicate_share=0.10, rng=rng)
        connections["default"].close()
        server = Gunicorn(
            database_url=scratch.url(), workers=workers, threads=threads, worker_class=worker_class
        )
        try:
            path = f"/webhooks/stripe/{connection.pk}"
            # Warm-up: open each worker's database connection before timing.
            warm = [
                _request_bytes(server.port, path, body, secret)
                for body in scenario.warmup_bodies(max(64, workers * threads * 8))
            ]
            _post_all(server.port, warm, max(concurrency, workers * threads))
            requests = [_request_bytes(server.port, path, body, secret) for body in bodies]
            log(
                f"gunicorn {workers}x{threads} {worker_class} on 127.0.0.1:{server.port}; posting "
                f"{len(bodies)} deliveries ({len(all_events)} events + {duplicates} duplicates) "
                f"with {concurrency} clients; load average {cpu.load_average()}..."
            )
            worker_pids = cpu.children(server.process.pid)
            db_pids, xacts_before = _backend_pids(scratch)
            cpu_before = (
                cpu.total_cpu_ms(worker_pids),
                cpu.total_cpu_ms(db_pids),
                cpu.self_cpu_ms(),
            )
            load_before = cpu.load_average()
            results, wall = _post_all(server.port, requests, concurrency)
            cpu_after = (
                cpu.total_cpu_ms(worker_pids),
                cpu.total_cpu_ms(db_pids),
                cpu.self_cpu_ms(),
            )
            _db_pids_after, xacts_after = _backend_pids(scratch)
            load_after = cpu.load_average()
        finally:
            server.stop()
        log("Draining the inbox (the work a Celery worker does)...")
        drain_started = time.perf_counter()
        drained = drain_all()
        drain = time.perf_counter() - drain_started
        result = _verify(planned, all_events, results, duplicates, wall, drain)
        n = max(1, len(results))
        result.update(
            {
                "drained": drained,
                "worker_class": worker_class,
                "server": f"{workers}x{threads}",
                "concurrency": concurrency,
                "cpu_ms_per_request_gunicorn": round((cpu_after[0] - cpu_before[0]) / n, 3),
                "cpu_ms_per_request_postgres": round((cpu_after[1] - cpu_before[1]) / n, 3),
                "cpu_ms_per_request_client": round((cpu_after[2] - cpu_before[2]) / n, 3),
                "db_transactions_per_request": round((xacts_after - xacts_before) / n, 2),
                "load_average": f"{load_before} -> {load_after}",
            }
        )
        result["cpu_ms_per_request_total"] = round(
            result["cpu_ms_per_request_gunicorn"]
            + result["cpu_ms_per_request_postgres"]
            + result["cpu_ms_per_request_client"],
            3,
        )
        return result


def _verify(planned, all_events, results, duplicates, wall, drain) -> dict:
    latencies = sorted(r[1] for r in results)
    accepted = sum(1 for r in results if r[0] == 200)
    ids = {e["id"] for e in all_events}
    stored = dict(
        InboundEvent.objects.filter(provider_event_id__in=ids).values_list(
            "provider_event_id", "status"
        )
    )
    lost = len(ids - stored.keys()) + sum(
        1 for s in stored.values() if s != InboundEvent.Status.PROCESSED
    )
    processed_twice = InboundEvent.objects.filter(provider_event_id__in=ids, attempts__gt=1).count()
    intents = StripePaymentIntent.objects.select_related("invoice", "payment").in_bulk(
        [p.intent_id for p in planned]
    )
    wrong = 0
    for p in planned:
        intent = intents[p.intent_id]
        invoice = intent.invoice
        expected_payments = 1 if p.expected_intent_status == "succeeded" else 0
        if (
            intent.status != p.expected_intent_status
            or invoice.status != p.expected_invoice_status
            or invoice.amount_paid != p.expected_amount_paid
            or invoice.payments.count() != expected_payments
            or invoice.refunds.count() != p.expected_refunds
        ):
            wrong += 1
    reported_duplicates = sum(1 for r in results if r[2])

    def pct(q: float) -> float:
        return (
            round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 2)
            if latencies
            else 0.0
        )

    return {
        "events": len(all_events),
        "deliveries": len(results),
        "accepted": accepted,
        "events_per_s": round(accepted / wall, 1) if wall else 0.0,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 2) if latencies else 0.0,
        "lost": lost,
        # As in the other benchmarks, "duplicates" counts duplicate effects (events processed more
        # than once), which must be 0; the duplicate deliveries sent on purpose are counted apart.
        "duplicates": processed_twice,
        "duplicate_deliveries": duplicates,
        "duplicates_answered_as_such": reported_duplicates,
        "processed_twice": processed_twice,
        "wrong_final_state": wrong,
        "invoices": len(planned),
        "drain_s": round(drain, 2),
    }
