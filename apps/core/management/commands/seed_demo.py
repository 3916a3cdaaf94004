"""manage.py seed_demo: the demo company, its history and a technician API token."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from django.core.validators import validate_slug

from apps.core.demo import DEFAULT_SLUG, demo_seed
from apps.core.management.base import DatabaseCommand


class Command(DatabaseCommand):
    help = (
        "Create a realistic demo HVAC and plumbing company in Denver (technicians, 300 customers, "
        "500 work orders with real status history, invoices, payments) and a second small business. "
        "Deterministic for a given --seed; does nothing to a business whose slug already exists."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Random seed (default 42).")
        parser.add_argument(
            "--business-slug",
            default=DEFAULT_SLUG,
            help=f"Slug of the demo business (default {DEFAULT_SLUG}).",
        )
        parser.add_argument("--customers", type=int, default=300, help="Number of customers.")
        parser.add_argument("--work-orders", type=int, default=500, help="Number of work orders.")

    def handle(
        self, *args, seed: int, business_slug: str, customers: int, work_orders: int, **options
    ):
        if customers < 1 or work_orders < 1:
            raise CommandError("--customers and --work-orders must be at least 1.")
        try:
            validate_slug(business_slug)
        except ValidationError:
            raise CommandError(
                f"'{business_slug}' is not a slug: use letters, digits, hyphens and underscores."
            ) from None
        try:
            report = demo_seed(
                seed=seed, slug=business_slug, customers=customers, work_orders=work_orders
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        business = report.business
        if report.created:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Seeded '{business.name}' ({business.slug}) with seed {seed} "
                    f"in {report.seconds:.1f} s."
                )
            )
        else:
            self.stdout.write(
                f"'{business.name}' ({business.slug}) is already seeded; left as it is."
            )
        if report.other_business_created:
            self.stdout.write("Seeded the second business 'Rival Plumbing' (rival-plumbing).")
        for name, count in report.counts.items():
            self.stdout.write(f"  {name}: {count}")
        if report.token_key:
            self.stdout.write(
                f"Technician API token ({report.token_username}): {report.token_key}\n"
                f"  try: curl -H 'Authorization: Token {report.token_key}' "
                f"{settings.PUBLIC_BASE_URL}/api/v1/"
            )
        else:
            self.stdout.write(
                self.style.WARNING("No demo technician in this business, so no API token.")
            )
        if report.created:
            self.stdout.write(
                "Demo staff sign in with their username (e.g. dana, greg, marcus.rivera) "
                "and the DEMO_ADMIN_PASSWORD."
            )
