from django.core.management.base import CommandError
from django.utils.dateparse import parse_datetime

from apps.core.management.base import DatabaseCommand
from apps.integrations.inbox import inbound_event_process
from apps.integrations.models import InboundEvent


class Command(DatabaseCommand):
    help = "Process stored webhook events again (by default the failed ones)."

    def add_arguments(self, parser):
        parser.add_argument("--provider")
        parser.add_argument(
            "--status", action="append", choices=InboundEvent.Status.values, help="Default: failed"
        )
        parser.add_argument("--since", help="ISO datetime with offset, e.g. 2026-11-01T00:00:00Z")
        parser.add_argument("--id", type=int, action="append", dest="ids")
        parser.add_argument("--limit", type=int, default=1000)
        parser.add_argument("--force", action="store_true", help="Re-run even processed events")

    def handle(self, *args, **options):
        qs = InboundEvent.objects.order_by("received_at")
        if options["ids"]:
            qs = qs.filter(pk__in=options["ids"])
        else:
            qs = qs.filter(status__in=options["status"] or [InboundEvent.Status.FAILED])
        if options["provider"]:
            qs = qs.filter(provider=options["provider"])
        if options["since"]:
            since = parse_datetime(options["since"])
            if since is None or since.tzinfo is None:
                raise CommandError("--since needs an ISO datetime with a UTC offset.")
            qs = qs.filter(received_at__gte=since)
        counts = {status: 0 for status in InboundEvent.Status.values}
        for pk in qs.values_list("pk", flat=True)[: options["limit"]]:
            event = inbound_event_process(event_id=pk, force=options["force"])
            counts[event.status] += 1
        self.stdout.write(", ".join(f"{k}={v}" for k, v in counts.items()))
        if counts[InboundEvent.Status.FAILED]:
            raise CommandError(
                f"{counts[InboundEvent.Status.FAILED]} event(s) still failing; see their error."
            )
