"""Fill a separate PostgreSQL database with integration activity and time health, the report and
retention under concurrent inserts. Never touches the configured database's data."""

from __future__ import annotations

import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import timezone

from apps.core.management.base import DatabaseCommand

RETENTION_DAYS = 90


def _timed(fn, repeat: int) -> tuple[float, float]:
    """(median, first) in milliseconds."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples), samples[0]


class Inserter:
    """Drives benchmark/inserter.py in its own process: one insert at a time, each timed."""

    def __init__(self, business_id: int, connection_id: int):
        s = connection.settings_dict
        options = {
            "host": s["HOST"] or None,
            "port": s["PORT"] or None,
            "user": s["USER"] or None,
            "password": s["PASSWORD"] or None,
            "dbname": s["NAME"],
            "business_id": business_id,
            "connection_id": connection_id,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "apps.monitoring.benchmark.inserter"],
            cwd=settings.BASE_DIR,
            # In the environment, not argv: the password must not show in the process list.
            env={**os.environ, "MONITORING_BENCH_INSERTER": json.dumps(options)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout.readline().strip() == "ready"
        self.started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def finish(self) -> list[tuple[float, float]]:
        out, _ = self.process.communicate(timeout=60)  # closing stdin stops it
        return json.loads(out.strip().splitlines()[-1])


class Command(DatabaseCommand):
    help = "Benchmark health, the 7-day report and retention on PostgreSQL (separate database)."
    # It migrates a scratch database of its own; the configured one need only answer.
    needs_migrated_database = False

    def add_arguments(self, parser):
        parser.add_argument("--rows", type=int, default=1_000_000)
        parser.add_argument("--businesses", type=int, default=50)
        parser.add_argument("--connections", type=int, default=200)
        parser.add_argument("--days", type=int, default=180, help="History length (> 90).")
        parser.add_argument("--database", default="thorbis_bench", help="Created and dropped.")
        parser.add_argument("--keep", action="store_true", help="Keep the database afterwards.")
        parser.add_argument("--repeat", type=int, default=7, help="Timed runs per query.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def _say(self, text: str) -> None:
        # Progress goes to stderr so --json output stays one clean object on stdout.
        print(text, file=sys.stderr, flush=True)

    def handle(self, *args, **options):
        if connection.vendor != "postgresql":
            raise CommandError("The benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
        if options["days"] <= RETENTION_DAYS or options["rows"] < 2:
            raise CommandError(f"--days must exceed {RETENTION_DAYS} and --rows be at least 2.")
        if options["connections"] < options["businesses"]:
            raise CommandError("Every business needs a connection: --connections >= --businesses.")
        name = options["database"]
        if name == connection.settings_dict["NAME"]:
            raise CommandError("Use a separate database for the benchmark, not the configured one.")
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._admin(f'CREATE DATABASE "{name}"')
        original = connection.settings_dict["NAME"]
        connection.close()
        connection.settings_dict["NAME"] = name  # shared with threads' connections
        try:
            result = self._run(options)
        finally:
            connections.close_all()
            connection.settings_dict["NAME"] = original
            if not options["keep"]:
                self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if options["json"]:
            keys = ("rows", "health_ms", "report_ms", "retention_max_insert_stall_ms")
            self.stdout.write(json.dumps({k: result[k] for k in keys}))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key:34} {value}")

    def _admin(self, sql: str) -> None:
        s = connection.settings_dict
        with psycopg.connect(
            host=s["HOST"] or None,
            port=s["PORT"] or None,
            user=s["USER"] or None,
            password=s["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
        ) as admin:
            admin.execute(sql)

    def _run(self, options) -> dict:
        from apps.core.models import Business
        from apps.integrations.models import IntegrationActivity
        from apps.monitoring.benchmark.fill import activity_copy, tenants
        from apps.monitoring.selectors.health import business_health
        from apps.monitoring.selectors.report import health_report
        from apps.monitoring.services.retention import activity_retention_purge
        from apps.monitoring.services.rollup import activity_rollup_refresh

        self._say(f"Migrating {options['database']}...")
        call_command("migrate", verbosity=0, interactive=False)
        now = timezone.now()
        started = time.perf_counter()
        owners = tenants(options["businesses"], options["connections"])
        activity_copy(
            tenants=owners,
            rows=options["rows"],
            now=now,
            days=options["days"],
            retention_days=RETENTION_DAYS,
        )
        fill_s = time.perf_counter() - started
        self._say(f"Wrote {options['rows']} rows in {fill_s:.1f}s; rolling up...")
        started = time.perf_counter()
        activity_rollup_refresh(now=now)
        rollup_s = time.perf_counter() - started

        business = Business.objects.get(pk=owners[0][0])
        week = IntegrationActivity.objects.filter(
            business=business, occurred_at__gte=now - dt.timedelta(days=7)
        ).count()
        repeat = options["repeat"]
        health_ms, health_cold = _timed(lambda: business_health(business=business, now=now), repeat)
        report_ms, report_cold = _timed(
            lambda: health_report(business=business, period="7d", now=now), repeat
        )
        raw_ms, _ = _timed(
            lambda: health_report(business=business, period="7d", now=now, use_rollups=False),
            repeat,
        )
        quarter_ms, _ = _timed(
            lambda: health_report(business=business, period="90d", now=now), repeat
        )

        self._say("Retention under concurrent inserts...")
        inserter = Inserter(owners[-1][0], owners[-1][1])
        time.sleep(5)
        retention_from = inserter.elapsed()
        started = time.perf_counter()
        purge = activity_retention_purge(older_than_days=RETENTION_DAYS, now=now)
        retention_s = time.perf_counter() - started
        retention_to = inserter.elapsed()
        # The same inserts for as long again without retention: this machine's own noise.
        time.sleep(retention_to - retention_from)
        samples = inserter.finish()
        baseline = [ms for at, ms in samples if at < retention_from or at >= retention_to]
        during = [ms for at, ms in samples if retention_from <= at < retention_to]
        return {
            "rows": options["rows"],
            "health_ms": round(health_ms, 1),
            "report_ms": round(report_ms, 1),
            "retention_max_insert_stall_ms": round(max(during, default=0.0), 1),
            "health_first_ms": round(health_cold, 1),
            "report_first_ms": round(report_cold, 1),
            "report_raw_rows_ms": round(raw_ms, 1),
            "report_90d_ms": round(quarter_ms, 1),
            "timed_business_rows_7d": week,
            "fill_s": round(fill_s, 1),
            "rollup_backfill_s": round(rollup_s, 1),
            "retention_deleted": purge.deleted,
            "retention_s": round(retention_s, 1),
            "retention_batches": purge.batches,
            "retention_longest_batch_ms": round(purge.longest_batch_ms, 1),
            "inserts_during_retention": len(during),
            "inserts_without_retention": len(baseline),
            "insert_p99_during_retention_ms": round(
                sorted(during)[int(len(during) * 0.99)] if during else 0.0, 1
            ),
            "insert_max_without_retention_ms": round(max(baseline, default=0.0), 1),
            "inserts_over_100ms_during_retention": sum(1 for ms in during if ms > 100),
            "inserts_over_100ms_without_retention": sum(1 for ms in baseline if ms > 100),
        }
