"""The invoice-push benchmark: N invoices through the real outbox and SDK to the QuickBooks fake.

The fake enforces Intuit's limits (500 requests/min, 10/s, 10 in flight, 40 batches/min of at most
30) and injects faults at fixed, seeded rates, including answers lost after the write happened. The
ceiling is computed from the limits: per minute, 40 full batches plus the remaining requests as
single creates. Duplicates and lost invoices are counted in the fake's books, not in ours.
"""

from __future__ import annotations

import collections
import dataclasses
import time
import uuid
from decimal import Decimal

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from apps.accounting.models import AccountingWrite
from apps.accounting.qbo_fake import DEFAULT_REALM, QboFake, QboLimits
from apps.accounting.services.outbox import idempotency_key
from apps.accounting.services.refs import ref_set
from apps.core.models import (
    Business,
    Customer,
    Invoice,
    InvoiceStatus,
    LineItem,
    Payment,
    ServiceCategory,
)
from apps.integrations.errors import ProviderError
from apps.integrations.models import AccountMapping, IntegrationConnection, SyncLog
from apps.integrations.services import connection_sync

DEFAULT_FAULTS = {"server_error": 0.004, "rate_limit": 0.003, "timeout": 0.002, "disconnect": 0.002}
CUSTOMERS = 50


@dataclasses.dataclass(frozen=True)
class Result:
    invoices: int
    invoices_per_min: float
    ceiling_per_min: int
    ratio: float
    duplicates: int
    lost: int
    seconds: float = 0.0
    requests: int = 0
    faults: dict = dataclasses.field(default_factory=dict)
    throttled: int = 0
    replayed: int = 0

    def summary(self) -> dict:
        return {
            k: getattr(self, k)
            for k in (
                "invoices",
                "invoices_per_min",
                "ceiling_per_min",
                "ratio",
                "duplicates",
                "lost",
            )
        }


def _setup(fake: QboFake, invoices: int) -> tuple[IntegrationConnection, list[Invoice]]:
    tokens = fake.oauth.issue(access_ttl=24 * 3600)
    business = Business.objects.create(
        name="Accounting benchmark", slug=f"acct-bench-{uuid.uuid4().hex[:10]}"
    )
    connection = IntegrationConnection.objects.create(
        business=business,
        provider="quickbooks",
        name="Benchmark books",
        status="connected",
        api_base_url=fake.api_base_url,
        external_account_id=DEFAULT_REALM,
        settings={"oauth_discovery_url": fake.discovery_url},
        credentials={
            "client_id": "bench",
            "client_secret": "bench-secret",
            "access_token": tokens["access_token"],
            "refresh_token": tokens["refresh_token"],
            "access_token_expires_at": time.time() + 24 * 3600,
        },
    )
    books = fake.company(DEFAULT_REALM)
    category = ServiceCategory.objects.create(
        business=business, code="hvac", name="HVAC", revenue_category="HVAC service revenue"
    )
    income = books.find("Account", Name="HVAC service revenue")["Id"]
    AccountMapping.objects.create(
        business=business,
        connection=connection,
        kind="revenue",
        local_key="HVAC service revenue",
        remote_id=income,
    )
    # Customers and the item are linked beforehand: the benchmark measures invoices.
    item = books.insert(
        "Item",
        {
            "Name": "HVAC service",
            "Type": "Service",
            "Active": True,
            "IncomeAccountRef": {"value": income},
        },
    )
    ref_set(connection, category, remote_id=item["Id"], version="0")
    customers = []
    for n in range(CUSTOMERS):
        customer = Customer.objects.create(
            business=business, display_name=f"Bench customer {n:03d}"
        )
        remote = books.insert("Customer", {"DisplayName": customer.display_name, "Active": True})
        ref_set(
            connection, customer, remote_id=remote["Id"], version="0", synced_at=customer.updated_at
        )
        customers.append(customer)
    today = timezone.localdate(timezone=business.timezone)
    rows = []
    for n in range(invoices):
        amount = Decimal(89 + n % 400) + Decimal("0.50")
        rows.append(
            Invoice(
                business=business,
                number=f"BENCH-{n:06d}",
                customer=customers[n % CUSTOMERS],
                status=InvoiceStatus.OPEN,
                issued_on=today,
                due_date=today,
                subtotal=amount,
                tax=Decimal("0.00"),
                total=amount,
            )
        )
    created = Invoice.objects.bulk_create(rows, batch_size=500)
    LineItem.objects.bulk_create(
        [
            LineItem(
                business=business,
                invoice=i,
                kind="service",
                description="Maintenance visit",
                quantity=Decimal("1"),
                unit_price=i.total,
                category=category,
            )
            for i in created
        ],
        batch_size=500,
    )
    AccountingWrite.objects.bulk_create(
        [
            AccountingWrite(
                business=business,
                connection=connection,
                entity="invoice",
                object_id=str(i.pk),
                label=i.number,
                idempotency_key=idempotency_key(
                    connection_id=connection.pk,
                    entity="invoice",
                    object_id=str(i.pk),
                    action="create",
                    revision=1,
                ),
            )
            for i in created
        ],
        batch_size=500,
    )
    return connection, created


def _count(fake: QboFake, invoices: list[Invoice]) -> tuple[int, int]:
    numbers = collections.Counter(
        r.get("DocNumber") for r in fake.company(DEFAULT_REALM).rows["Invoice"].values()
    )
    duplicates = sum(c - 1 for c in numbers.values() if c > 1)
    lost = sum(1 for i in invoices if numbers[i.number] == 0)
    return duplicates, lost


def _cleanup(connection: IntegrationConnection) -> None:
    business = connection.business
    with transaction.atomic():
        LineItem.objects.filter(business=business).delete()
        Payment.objects.filter(business=business).delete()
        Invoice.objects.filter(business=business).delete()
        business.delete()


def run_benchmark(
    *,
    invoices: int,
    faults: dict[str, float] | None = None,
    seed: int = 7,
    keep: bool = False,
    workers: int = 4,
    progress=None,
) -> Result:
    limits = QboLimits()
    with (
        QboFake(limits=limits, seed=seed) as fake,
        override_settings(
            INTEGRATIONS_HTTP_READ_TIMEOUT=2.0,
            INTEGRATIONS_HTTP_CONNECT_TIMEOUT=2.0,
            ACCOUNTING_FLUSH_BUDGET_SECONDS=3600,
            ACCOUNTING_FLUSH_WORKERS=workers,
        ),
    ):
        fake.faults.timeout_delay = 2.5  # longer than the client waits: the answer is lost
        connection, created = _setup(fake, invoices)
        fake.faults.set_rates(**(DEFAULT_FAULTS if faults is None else faults))
        started = time.monotonic()
        try:
            while AccountingWrite.objects.filter(
                connection=connection, status__in=("pending", "sending")
            ).exists():
                log = SyncLog.objects.create(
                    business=connection.business,
                    connection=connection,
                    sync_type="invoices",
                    direction="bidirectional",
                    trigger=SyncLog.Trigger.EVENT,
                )
                try:
                    connection_sync(sync_log_id=log.pk)  # what the Celery task runs
                except ProviderError as exc:  # the task would be retried: run again at once
                    if progress:
                        progress(f"run ended early ({exc}); continuing")
                    AccountingWrite.objects.filter(connection=connection, status="sending").update(
                        lease_until=timezone.now()
                    )
            elapsed = time.monotonic() - started
            duplicates, lost = _count(fake, created)
        finally:
            if not keep:
                _cleanup(connection)
        per_min = invoices / (elapsed / 60) if elapsed else 0.0
        ceiling = limits.ceiling_per_minute()
        return Result(
            invoices=invoices,
            invoices_per_min=round(per_min, 1),
            ceiling_per_min=ceiling,
            ratio=round(per_min / ceiling, 3),
            duplicates=duplicates,
            lost=lost,
            seconds=round(elapsed, 1),
            requests=fake.stats["requests"],
            faults={k: v for k, v in fake.faults.injected.items() if v},
            throttled=fake.throttle.throttled,
            replayed=fake.stats["replayed"],
        )
