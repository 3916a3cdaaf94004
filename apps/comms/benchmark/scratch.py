"""A throwaway PostgreSQL database and a real Celery worker for the comms benchmark."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import uuid

from django.conf import settings
from django.core.management import call_command
from django.db import connections


class ScratchDatabase:
    """Migrated scratch database on the configured server; real data is never touched."""

    def __init__(self):
        db = settings.DATABASES["default"]
        if not db["ENGINE"].endswith("postgresql"):
            raise RuntimeError("comms_benchmark needs PostgreSQL: set DATABASE_URL=postgres://...")
        self.db, self.original = db, db["NAME"]
        self.name = f"{self.original}_comms_bench_{uuid.uuid4().hex[:8]}"

    def _admin(self, sql: str) -> None:
        import psycopg

        keys = {"host": "HOST", "port": "PORT", "user": "USER", "password": "PASSWORD"}
        params = {k: self.db.get(v) for k, v in keys.items() if self.db.get(v)}
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as conn:
            conn.execute(sql)

    def url(self) -> str:
        d = self.db
        auth = (d.get("USER") or "postgres") + (f":{d['PASSWORD']}" if d.get("PASSWORD") else "")
        host, port = d.get("HOST") or "127.0.0.1", d.get("PORT") or 5432
        return f"postgres://{auth}@{host}:{port}/{self.name}"

    def __enter__(self) -> ScratchDatabase:
        self._admin(f'CREATE DATABASE "{self.name}"')
        connections["default"].close()
        self.db["NAME"] = self.name
        call_command("migrate", verbosity=0, interactive=False)
        return self

    def __exit__(self, *exc) -> None:
        connections["default"].close()
        self.db["NAME"] = self.original
        self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class CeleryWorker:
    """`celery worker -Q urgent` in a subprocess on the scratch database and the Redis broker."""

    def __init__(
        self,
        *,
        database_url: str,
        broker_url: str,
        concurrency: int,
        public_url: str,
        pool: str,
        log_level: str = "WARNING",
    ):
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            # Production-like: no DEBUG query log; same keys so stored credentials decrypt.
            "DJANGO_DEBUG": "false",
            "SECRET_KEY": settings.SECRET_KEY,
            "FIELD_ENCRYPTION_KEYS": ",".join(settings.FIELD_ENCRYPTION_KEYS),
            "CELERY_BROKER_URL": broker_url,
            "REDIS_URL": broker_url,  # one shared per-number rate limiter across worker threads
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "PUBLIC_BASE_URL": public_url,
            "LOG_LEVEL": log_level,
        }
        # Kept open for the worker's lifetime and left on disk for a failed run's post-mortem.
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115
            prefix="comms-bench-worker-", suffix=".log", delete=False
        )
        argv = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "thorbis",
            "worker",
            "-Q",
            "urgent",
            "--pool",
            pool,
            "-c",
            str(concurrency),
            "-l",
            log_level,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        self.process = subprocess.Popen(  # noqa: S603  (fixed argv)
            argv, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=settings.BASE_DIR
        )

    def wait_ready(self, app, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Celery worker exited; see {self.log.name}")
            if app.control.ping(timeout=0.5):
                return
        raise RuntimeError("Celery worker did not answer a ping in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.log.close()
