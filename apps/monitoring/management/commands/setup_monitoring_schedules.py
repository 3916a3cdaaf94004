"""Create monitoring's django-celery-beat rows (heartbeats, rollup, health check, token refresh,
retention, weekly reports). Idempotent: run on every release."""

from apps.core.management.base import DatabaseCommand
from apps.monitoring.services.schedules import monitoring_schedules_setup


class Command(DatabaseCommand):
    help = "Create monitoring's periodic tasks; existing rows keep their admin edits."

    def add_arguments(self, parser):
        parser.add_argument(
            "--reset", action="store_true", help="Restore every row to its default schedule."
        )

    def handle(self, *args, reset: bool = False, **options):
        outcome = monitoring_schedules_setup(reset=reset)
        for name, what in outcome.items():
            self.stdout.write(f"{what:8} {name}")
