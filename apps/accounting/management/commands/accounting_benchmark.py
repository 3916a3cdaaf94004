"""python manage.py accounting_benchmark [--invoices N] [--json] [--no-faults] [--workers W] [--keep]

Pushes N invoices through the outbox and python-quickbooks to the QuickBooks fake (started here on
127.0.0.1 with Intuit's limits on and faults injected) and prints the rate, the ceiling the limits
allow, their ratio, and the duplicates and lost invoices found in the fake's books (both must be 0).
A full run of 5,000 takes about three minutes by construction (the limits allow ~1,660 a minute).
"""

from __future__ import annotations

import json

from django.core.management.base import CommandError

from apps.accounting.benchmark import run_benchmark
from apps.core.management.base import DatabaseCommand


class Command(DatabaseCommand):
    help = "Measure invoice pushes to the QuickBooks fake against the ceiling its limits allow."

    def add_arguments(self, parser):
        parser.add_argument("--invoices", type=int, default=5000, help="How many (default 5000).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object only.")
        parser.add_argument("--no-faults", action="store_true", help="Inject no faults.")
        parser.add_argument("--seed", type=int, default=7, help="Seed of the fault schedule.")
        parser.add_argument("--keep", action="store_true", help="Keep the benchmark's rows.")
        parser.add_argument(
            "--workers",
            type=int,
            default=4,
            help="Sending threads of the outbox run (ACCOUNTING_FLUSH_WORKERS).",
        )

    def handle(self, *args, **options):
        count = options["invoices"]
        if count < 1:
            raise CommandError("--invoices must be at least 1.")
        quiet = options["json"]
        if not quiet:
            self.stdout.write(f"Pushing {count} invoices to the QuickBooks fake (limits on)...")
        result = run_benchmark(
            invoices=count,
            faults={} if options["no_faults"] else None,
            seed=options["seed"],
            keep=options["keep"],
            workers=max(1, options["workers"]),
            progress=None if quiet else self.stdout.write,
        )
        if quiet:
            self.stdout.write(json.dumps(result.summary()))
            return
        self.stdout.write(
            f"{result.invoices} invoices in {result.seconds} s: {result.invoices_per_min}/min; "
            f"ceiling {result.ceiling_per_min}/min (40 batches of 30 + 460 single creates); "
            f"ratio {result.ratio}\n"
            f"duplicates {result.duplicates}, lost {result.lost}; {result.requests} requests, "
            f"faults injected {result.faults}, answers replayed by requestid {result.replayed}, "
            f"throttled by the fake {result.throttled}"
        )
        if result.duplicates or result.lost:
            raise CommandError("Duplicates or lost invoices: exactly-once is broken.")
