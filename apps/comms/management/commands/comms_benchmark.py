"""python manage.py comms_benchmark [--json]: emergency latency and reminder fan-out.

Needs PostgreSQL (a scratch database is created and dropped) and Redis (the Celery broker and the
shared per-number rate limiter). Starts a real `celery worker -Q urgent` and a loopback Twilio.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Measure emergency-text latency and reminder fan-out through Celery + Redis."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON object")
        parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
        parser.add_argument("--emergencies", type=int, default=200)
        parser.add_argument("--spacing", type=float, default=0.05, help="s between emergencies")
        parser.add_argument("--fanout", type=int, default=10000)
        parser.add_argument("--senders", type=int, default=10)
        parser.add_argument("--mps", type=int, default=3, help="messages/s per sender number")
        parser.add_argument("--pool", default="prefork", choices=["prefork", "threads"])
        parser.add_argument("--concurrency", type=int, default=4, help="worker processes/threads")

    def handle(self, *args, **opts):
        import redis

        from apps.comms.benchmark import runner
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
                public_url="http://127.0.0.1:8000",
            )
            try:
                worker.wait_ready(app)
                w = runner.world(twilio.url)
                latencies = runner.emergency_latency(
                    w, twilio, count=opts["emergencies"], spacing=opts["spacing"]
                )
                fan = runner.fanout(
                    w, twilio, count=opts["fanout"], senders=opts["senders"], mps=opts["mps"]
                )
            finally:
                worker.stop()
        result = {**runner.summarize(latencies), **fan}
        if opts["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key:>20}: {value}")
