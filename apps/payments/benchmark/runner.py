"""Run the benchmark: scratch database, gunicorn on loopback, concurrent signed POSTs, verify."""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.db import connections

from apps.integrations.inbox import inbound_event_process
from apps.integrations.models import InboundEvent
from apps.payments.benchmark import scenario
from apps.payments.models import StripePaymentIntent
from apps.payments.providers.stripe import webhook_signature_header

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

    def _admin(self, sql: str) -> None:
        import psycopg

        params = {
            k: v
            for k, v in {
                "host": self.settings.get("HOST") or None,
                "port": self.settings.get("PORT") or None,
                "user": self.settings.get("USER") or None,
                "password": self.settings.get("PASSWORD") or None,
            }.items()
            if v
        }
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
            conn.execute(sql)

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
    def __init__(self, *, database_url: str, workers: int, threads: int):
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
            "gthread",
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


def _send(
    port: int, path: str, bodies: list[str], secret: str, results: list, lock: threading.Lock
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    local = []
    for body in bodies:
        headers = {
            "Content-Type": "application/json",
            "Stripe-Signature": webhook_signature_header(payload=body, secret=secret),
        }
        started = time.perf_counter()
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        elapsed = time.perf_counter() - started
        duplicate = response.status == 200 and b'"duplicate": true' in data
        local.append((response.status, elapsed, duplicate))
    conn.close()
    with lock:
        results.extend(local)


def run(*, events: int, concurrency: int, workers: int, threads: int, seed_value: int, log) -> dict:
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
        server = Gunicorn(database_url=scratch.url(), workers=workers, threads=threads)
        try:
            path = f"/webhooks/stripe/{connection.pk}"
            # Warm-up: open each worker's database connection before timing.
            warm = [
                json.dumps(
                    {
                        "id": f"evt_warm_{i}",
                        "object": "event",
                        "type": "ping",
                        "created": int(time.time()),
                        "data": {"object": {}},
                    }
                )
                for i in range(workers * threads * 2)
            ]
            _send(server.port, path, warm, secret, [], threading.Lock())
            log(
                f"gunicorn {workers}x{threads} on 127.0.0.1:{server.port}; posting {len(bodies)} deliveries "
                f"({len(all_events)} events + {duplicates} duplicates) with {concurrency} clients..."
            )
            results: list = []
            lock = threading.Lock()
            chunks = [bodies[i::concurrency] for i in range(concurrency)]
            started = time.perf_counter()
            senders = [
                threading.Thread(
                    target=_send, args=(server.port, path, chunk, secret, results, lock)
                )
                for chunk in chunks
            ]
            for t in senders:
                t.start()
            for t in senders:
                t.join()
            wall = time.perf_counter() - started
        finally:
            server.stop()
        log("Draining the inbox (the work a Celery worker does)...")
        drain_started = time.perf_counter()
        pending = list(
            InboundEvent.objects.filter(provider="stripe", status=InboundEvent.Status.PENDING)
            .exclude(provider_event_id__startswith="evt_warm_")
            .order_by("received_at", "pk")
            .values_list("pk", flat=True)
        )
        for pk in pending:
            inbound_event_process(event_id=pk)
        drain = time.perf_counter() - drain_started
        return _verify(planned, all_events, results, duplicates, wall, drain)


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
        payments = intent.invoice.payments.count()
        expected_payments = 1 if p.expected_invoice_status == "paid" else 0
        if (
            intent.status != p.expected_intent_status
            or intent.invoice.status != p.expected_invoice_status
            or payments != expected_payments
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
        "duplicates": duplicates,
        "duplicates_answered_as_such": reported_duplicates,
        "processed_twice": processed_twice,
        "wrong_final_state": wrong,
        "invoices": len(planned),
        "drain_s": round(drain, 2),
    }
