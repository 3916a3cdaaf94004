"""python manage.py diagnostics_benchmark --json [--seconds 60 --outage-start 15 --outage-seconds 20]

Without --server it starts gunicorn on this database and provisions a "diagnostics-benchmark"
business, so the agent talks to a real server in another process (the CPU figure is then the
agent plus the emulated probes and radio, not the server)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import requests
from django.conf import settings
from django.core.management.base import CommandError

from apps.core.management.base import DatabaseCommand
from apps.diagnostics.benchmark import Plan, benchmark_run
from apps.diagnostics.models import Reading


def _provision() -> tuple[str, int, int]:
    from rest_framework.authtoken.models import Token

    from apps.core.models import Business, Customer, ServiceCategory, ServiceLocation, User
    from apps.core.services.work_orders import work_order_create

    business, _ = Business.objects.get_or_create(
        slug="diagnostics-benchmark", defaults={"name": "Diagnostics benchmark"}
    )
    user, _ = User.objects.get_or_create(
        username="diagnostics-benchmark", defaults={"business": business, "role": "dispatcher"}
    )
    customer, _ = Customer.objects.get_or_create(
        business=business, display_name="Benchmark customer"
    )
    location, _ = ServiceLocation.objects.get_or_create(
        business=business, customer=customer, label="Bench"
    )
    category, _ = ServiceCategory.objects.get_or_create(
        business=business, code="hvac", defaults={"name": "HVAC"}
    )
    work_order = work_order_create(
        business=business,
        customer=customer,
        location=location,
        category=category,
        summary="Benchmark",
    )
    return Token.objects.get_or_create(user=user)[0].key, work_order.pk, business.pk


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Command(DatabaseCommand):
    help = (
        "Agent + 4 emulated BLE probes at 1 Hz, with a server outage: sent/stored/lost/duplicates."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true")
        parser.add_argument("--seconds", type=float, default=60.0)
        parser.add_argument("--probes", type=int, default=4)
        parser.add_argument("--rate-hz", type=float, default=1.0)
        parser.add_argument("--outage-start", type=float, default=15.0)
        parser.add_argument("--outage-seconds", type=float, default=20.0)
        parser.add_argument("--server", help="use this running server instead of starting one")
        parser.add_argument("--token")
        parser.add_argument("--work-order", type=int)

    def handle(self, *args, **o):
        if o["outage_start"] + o["outage_seconds"] > o["seconds"]:
            raise CommandError("The outage must end before the run does.")
        server, process = o["server"], None
        if server:
            if not (o["token"] and o["work_order"]):
                raise CommandError("--server needs --token and --work-order.")
            token, work_order = o["token"], o["work_order"]
        else:
            if settings.DATABASES["default"]["NAME"] in (":memory:", "") or "memory" in str(
                settings.DATABASES["default"]["NAME"]
            ):
                raise CommandError(
                    "Needs a file or server database the spawned web server can share."
                )
            token, work_order, _ = _provision()
            port = _free_port()
            server = f"http://127.0.0.1:{port}"
            process = subprocess.Popen(  # noqa: S603 - fixed argv, no user input
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "thorbis.wsgi",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "1",
                    "--threads",
                    "4",
                    "--log-level",
                    "warning",
                ],
                env={**os.environ},
            )
        try:
            if process is not None:
                self._wait_for(server, process)
            plan = Plan(
                server=server,
                token=token,
                work_order=work_order,
                probes=o["probes"],
                rate_hz=o["rate_hz"],
                seconds=o["seconds"],
                outage_start=o["outage_start"],
                outage_seconds=o["outage_seconds"],
            )
            result = benchmark_run(plan, count_stored=self._count)
        finally:
            if process is not None:
                process.terminate()
                process.wait(timeout=10)
        if o["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for k, v in result.items():
                self.stdout.write(f"{k:>18}: {v}")

    @staticmethod
    def _count(client_ids: list[str]) -> tuple[int, int]:
        rows = Reading.objects.filter(client_id__in=client_ids)
        return rows.count(), rows.values("client_id").distinct().count()

    @staticmethod
    def _wait_for(server: str, process) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise CommandError("The web server did not start.")
            try:
                requests.get(server + "/api/v1/me/", timeout=5)
                return
            except requests.RequestException:
                time.sleep(0.3)
        raise CommandError("The web server did not answer.")
