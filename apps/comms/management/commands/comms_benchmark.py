"""python manage.py comms_benchmark [--json]: emergency latency and reminder fan-out.

Needs PostgreSQL (a scratch database is created and dropped) and Redis (the Celery broker and the
shared per-number rate limiter). Starts a real `celery worker -Q urgent` and a loopback Twilio.
"""

from __future__ import annotations

import json
import math

from django.core.management.base import CommandError

from apps.core.management.base import DatabaseCommand

JSON_KEYS = (
    "emergency_p50_s",
    "emergency_p95_s",
    "fanout_ratio",
    "duplicates",
    "sent_to_opted_out",
)


def _loadavg() -> str:
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return ""


class Command(DatabaseCommand):
    help = "Measure emergency-text latency and reminder fan-out through Celery + Redis."
    # It migrates a scratch database of its own; the configured one need only answer.
    needs_migrated_database = False

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
        parser.add_argument("--emergencies", type=int, default=200)
        parser.add_argument("--spacing", type=float, default=0.05, help="s between emergencies")
        parser.add_argument(
            "--emergency-mps",
            type=int,
            default=0,
            help="the emergency line's texts/s (default: 1.25 x the offered rate, 25)",
        )
        parser.add_argument("--fanout", type=int, default=10000)
        parser.add_argument("--senders", type=int, default=10)
        parser.add_argument("--mps", type=int, default=3, help="messages/s per sender number")
        parser.add_argument("--pool", default="prefork", choices=["prefork", "threads"])
        parser.add_argument("--concurrency", type=int, default=4, help="worker processes/threads")
        parser.add_argument(
            "--worker-log-level", default="WARNING", help="INFO logs every task and its duration"
        )

    def handle(self, *args, **opts):
        import redis

        from apps.comms.benchmark import runner
        from apps.comms.benchmark.cpu import CpuMeter
        from apps.comms.benchmark.scratch import CeleryWorker, ScratchDatabase
        from apps.comms.testing.twilio_loopback import TwilioLoopback
        from apps.integrations import ratelimit
        from thorbis.celery import app

        try:
            redis.Redis.from_url(opts["redis_url"]).flushdb()  # stale tasks from an aborted run
        except redis.RedisError as exc:
            raise CommandError(f"Redis is not reachable at {opts['redis_url']}: {exc}") from exc
        app.conf.update(broker_url=opts["redis_url"], task_always_eager=False)
        ratelimit.reset_backend(ratelimit.RedisBackend(opts["redis_url"]))
        try:
            scratch = ScratchDatabase()
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        with scratch, TwilioLoopback() as twilio:
            worker = CeleryWorker(
                database_url=scratch.url(),
                broker_url=opts["redis_url"],
                concurrency=opts["concurrency"],
                pool=opts["pool"],
                log_level=opts["worker_log_level"],
                public_url="http://127.0.0.1:8000",
            )
            try:
                worker.wait_ready(app)
                # The emergency line must carry the offered rate (one per --spacing), or the
                # figure measures its pacing queue rather than the pipeline.
                w = runner.world(
                    twilio.url,
                    emergency_mps=opts["emergency_mps"] or math.ceil(1.25 / opts["spacing"]),
                )
                latencies = runner.emergency_latency(
                    w, twilio, count=opts["emergencies"], spacing=opts["spacing"]
                )
                meter = CpuMeter(worker_pid=worker.process.pid, redis_url=opts["redis_url"])
                fan = runner.fanout(
                    w,
                    twilio,
                    count=opts["fanout"],
                    senders=opts["senders"],
                    mps=opts["mps"],
                    meter=meter,
                )
            finally:
                worker.stop()
        result = {**runner.summarize(latencies), **fan, "loadavg": _loadavg()}
        if opts["json"]:
            # Exactly the issue's keys on stdout (operators' scripts parse it); the rest on stderr.
            self.stdout.write(json.dumps({k: result[k] for k in JSON_KEYS}))
            details = {k: v for k, v in result.items() if k not in JSON_KEYS}
            self.stderr.write(f"details: {json.dumps(details)}")
        else:
            for key, value in result.items():
                self.stdout.write(f"{key:>20}: {value}")
