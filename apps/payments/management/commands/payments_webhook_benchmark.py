import json

from django.core.management.base import CommandError

from apps.core.management.base import DatabaseCommand


class Command(DatabaseCommand):
    help = (
        "Replay signed Stripe events (10% duplicates, shuffled) against gunicorn + PostgreSQL on "
        "loopback; report events/s and p50/p99, then check nothing was lost, processed twice or "
        "left in a wrong final state. Uses a scratch database that is dropped afterwards."
    )
    # It migrates a scratch database of its own; the configured one need only answer.
    needs_migrated_database = False

    def add_arguments(self, parser):
        parser.add_argument("--events", type=int, default=2000)
        parser.add_argument("--concurrency", type=int, default=8, help="Client connections")
        parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
        parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
        parser.add_argument(
            "--worker-class", default="gthread", choices=["gthread", "sync"], help="gunicorn's"
        )
        parser.add_argument("--seed", type=int, default=5)
        parser.add_argument("--json", action="store_true", help="Print one JSON object")

    def handle(self, *args, **options):
        from apps.payments.benchmark.runner import run

        if options["events"] < 1:
            raise CommandError("--events must be at least 1.")
        quiet = options["json"]

        def log(message: str) -> None:
            if not quiet:
                self.stderr.write(message)

        try:
            result = run(
                events=options["events"],
                concurrency=options["concurrency"],
                workers=options["workers"],
                threads=options["threads"],
                seed_value=options["seed"],
                worker_class=options["worker_class"],
                log=log,
            )
        except RuntimeError as exc:
            raise CommandError(str(exc)) from exc
        if quiet:
            keys = (
                "events",
                "events_per_s",
                "p50_ms",
                "p99_ms",
                "lost",
                "duplicates",
                "wrong_final_state",
            )
            self.stdout.write(json.dumps({k: result[k] for k in keys}))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key:>28}: {value}")
        if result["lost"] or result["wrong_final_state"] or result["processed_twice"]:
            raise CommandError("Events were lost, processed twice or left in a wrong state.")
