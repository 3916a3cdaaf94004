from pathlib import Path

from django.core.management.base import CommandError

from apps.core.errors import DomainError
from apps.core.management.base import DatabaseCommand
from apps.core.models import Business, Equipment, WorkOrder
from apps.diagnostics.services.readings import reading_import


class Command(DatabaseCommand):
    help = "Import a Testo TJF export or a CSV file of readings into a work order."

    def add_arguments(self, parser):
        parser.add_argument("path")
        parser.add_argument("--business", required=True, help="business slug")
        parser.add_argument("--work-order", type=int, required=True, dest="work_order")
        parser.add_argument("--phase", choices=["in", "out"], default="in")
        parser.add_argument("--equipment", type=int, default=None)

    def handle(self, *args, **o):
        business = Business.objects.filter(slug=o["business"]).first()
        if business is None:
            raise CommandError(f"No business {o['business']!r}.")
        work_order = WorkOrder.objects.filter(business=business, pk=o["work_order"]).first()
        if work_order is None:
            raise CommandError(f"No work order {o['work_order']} in {business.slug}.")
        equipment = None
        if o["equipment"]:
            equipment = Equipment.objects.filter(business=business, pk=o["equipment"]).first()
            if equipment is None:
                raise CommandError(f"No equipment {o['equipment']} in {business.slug}.")
        path = Path(o["path"])
        if not path.is_file():
            raise CommandError(f"{path} is not a file.")
        try:
            parsed, stored = reading_import(
                business=business,
                work_order=work_order,
                filename=path.name,
                content=path.read_bytes(),
                phase=o["phase"],
                equipment=equipment,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        created = sum(1 for _, c in stored if c)
        self.stdout.write(f"{parsed.fmt}: {created} stored, {len(stored) - created} already stored")
        for line in parsed.skipped:
            self.stdout.write(f"skipped {line}")
