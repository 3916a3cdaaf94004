"""Backfill: what existed before the connection, owed to it from a date on.

Invoices issued and payments (with their refunds) received before a connection was made were
never pushed: the events that push them fired before it existed. A backfill owes the connection
every such record it does not have yet through the same outbox as everything else, so it is
exactly once by construction: a record already linked at the vendor is skipped, one already owed
(or sent, or refused) finds its existing write instead of a second one, and running the backfill
twice owes nothing new. The next invoices/payments run sends them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.db import transaction
from django.utils import timezone

from apps.accounting.models import AccountingWrite
from apps.accounting.services import outbox
from apps.accounting.services.invoices import PUSHABLE
from apps.accounting.services.refs import refs_for
from apps.core.errors import DomainError
from apps.core.models import Invoice, Payment, Refund
from apps.integrations.models import IntegrationConnection

W = AccountingWrite
RESOURCES = ("invoices", "payments")


@dataclasses.dataclass(frozen=True)
class BackfillCount:
    """Per entity: records found since the date, already at the vendor, newly owed, already
    owed (a write existed: waiting, sent or refused)."""

    entity: str
    found: int = 0
    linked: int = 0
    owed: int = 0
    waiting: int = 0

    def sentence(self) -> str:
        return (
            f"{self.entity}s since the date: {self.found}; already in the books: {self.linked}; "
            f"newly owed: {self.owed}; already owed: {self.waiting}."
        )


def _owe(connection, entity: str, model, rows: list, label) -> BackfillCount:
    linked = refs_for(connection, model, [row.pk for row in rows])
    missing = [row for row in rows if str(row.pk) not in linked]
    existing = set(
        W.objects.filter(
            connection=connection,
            entity=entity,
            action=W.Action.CREATE,
            object_id__in=[str(row.pk) for row in missing],
        ).values_list("object_id", flat=True)
    )
    for row in missing:
        outbox.write_open(connection=connection, entity=entity, object_id=row.pk, label=label(row))
    return BackfillCount(
        entity=entity,
        found=len(rows),
        linked=len(rows) - len(missing),
        owed=len(missing) - len(existing),
        waiting=len(existing),
    )


@transaction.atomic
def accounting_backfill(
    *, connection: IntegrationConnection, since: dt.date, resources: list[str]
) -> list[BackfillCount]:
    """Owe `connection` every invoice issued, and every payment and refund received, on or after
    `since` (business time zone) that it does not hold yet. Returns what was found and owed."""
    unknown = sorted(set(resources) - set(RESOURCES))
    if unknown or not resources:
        raise DomainError(
            f"A backfill covers {' and '.join(RESOURCES)}; not {', '.join(unknown) or 'nothing'}.",
            field="resources",
        )
    if since > timezone.localdate(timezone=connection.business.timezone):
        raise DomainError("The backfill date is in the future.", field="since")
    start = timezone.make_aware(
        dt.datetime.combine(since, dt.time.min), connection.business.timezone
    )
    business_id = connection.business_id
    counts = []
    if "invoices" in resources:
        invoices = list(
            Invoice.objects.filter(
                business_id=business_id, status__in=PUSHABLE, issued_on__gte=since
            ).order_by("issued_on", "pk")
        )
        counts.append(_owe(connection, W.Entity.INVOICE, Invoice, invoices, lambda i: i.number))
    if "payments" in resources:
        payments = list(
            Payment.objects.filter(
                business_id=business_id, invoice__isnull=False, received_at__gte=start
            )
            .select_related("invoice")
            .order_by("received_at", "pk")
        )
        counts.append(
            _owe(
                connection,
                W.Entity.PAYMENT,
                Payment,
                payments,
                lambda p: f"{p.amount} on {p.invoice.number}",
            )
        )
        refunds = list(
            Refund.objects.filter(business_id=business_id, refunded_at__gte=start)
            .exclude(invoice__isnull=True, payment__invoice__isnull=True)
            .select_related("invoice", "payment__invoice")
            .order_by("refunded_at", "pk")
        )
        counts.append(
            _owe(
                connection,
                W.Entity.REFUND,
                Refund,
                refunds,
                lambda r: f"Refund {r.amount} on {(r.invoice or r.payment.invoice).number}",
            )
        )
    return counts
