"""Invoices, ours to theirs, the moment a work order completes; their status flows back.

A completed work order is invoiced here if nobody has (per connection setting
`invoice_on_completion`, on by default), then every accounting connection of the business is
owed the invoice (one outbox row each) and an event-triggered sync sends it. The push itself is in
flush.py; this module builds the vendor-neutral drafts and reads changes back.
"""

from __future__ import annotations

import datetime as dt

import structlog
from django.db.models import Prefetch
from django.utils import timezone

from apps.accounting.models import AccountingWrite
from apps.accounting.models.oauth import ACCOUNTING_PROVIDERS
from apps.accounting.providers.base import InvoiceDraft, InvoiceLineDraft
from apps.accounting.services import outbox
from apps.accounting.services.items import item_code, item_link_or_create, mapping
from apps.accounting.services.refs import ref_by_remote, ref_get
from apps.accounting.services.run import Run
from apps.accounting.services.subcustomers import billing_customer_ref
from apps.core.errors import DomainError
from apps.core.models import Invoice, InvoiceStatus, LineItem, WorkOrder, WorkOrderStatus
from apps.integrations.errors import RejectedError
from apps.integrations.models import (
    AccountMapping,
    ConnectionStatus,
    IntegrationConnection,
    SyncLog,
)

logger = structlog.get_logger(__name__)
W = AccountingWrite
K = AccountMapping.Kind
PUSHABLE = (InvoiceStatus.OPEN, InvoiceStatus.PAID, InvoiceStatus.OVERDUE)


def accounting_connections(business_id: int) -> list[IntegrationConnection]:
    return list(
        IntegrationConnection.objects.filter(
            business_id=business_id, provider__in=ACCOUNTING_PROVIDERS, sync_enabled=True
        ).exclude(status=ConnectionStatus.DISABLED)
    )


def invoice_push_request(
    *, invoice: Invoice, trigger: str = SyncLog.Trigger.EVENT
) -> list[AccountingWrite]:
    """Owe every accounting connection this invoice (idempotent), and ask for a push."""
    from apps.accounting.services.sync import sync_request_coalesced

    writes = []
    if invoice.status not in PUSHABLE:
        return writes
    for connection in accounting_connections(invoice.business_id):
        if ref_get(connection, invoice) is None:
            writes.append(
                outbox.write_open(
                    connection=connection,
                    entity=W.Entity.INVOICE,
                    object_id=invoice.pk,
                    label=invoice.number,
                )
            )
        sync_request_coalesced(connection=connection, resources=["invoices"], trigger=trigger)
    return writes


def work_order_invoice_push(*, work_order_id: int) -> list[AccountingWrite]:
    """Handle a completed (or invoiced) work order: invoice it if needed, then push."""
    from apps.core.services.billing import invoice_create_for_work_order

    work_order = WorkOrder.objects.filter(pk=work_order_id).select_related("business").first()
    if work_order is None:
        return []
    connections = accounting_connections(work_order.business_id)
    if not connections:
        return []
    invoices = list(work_order.invoices.filter(status__in=PUSHABLE))
    auto = [c for c in connections if c.setting("invoice_on_completion")]
    if not invoices and auto and work_order.status == WorkOrderStatus.COMPLETED:
        rate = auto[0].setting("default_tax_rate")
        try:
            invoices = [invoice_create_for_work_order(work_order=work_order, tax_rate=rate)]
        except DomainError as exc:  # no lines yet, or the office invoiced it a moment ago
            logger.info(
                "accounting_auto_invoice_skipped", work_order_id=work_order_id, reason=exc.message
            )
            invoices = list(work_order.invoices.filter(status__in=PUSHABLE))
    writes = []
    for invoice in invoices:
        writes += invoice_push_request(invoice=invoice)
    return writes


class InvoiceDrafts:
    """Builds drafts for outbox rows, linking customers and items first when needed."""

    def __init__(self, run: Run):
        self.run = run
        self._invoices: dict[str, Invoice] = {}
        self._drafts: dict[int, InvoiceDraft] = {}
        self._item_refs: dict[tuple[type, int], tuple[str, str]] = {}

    def load(self, writes) -> None:
        wanted = [w.object_id for w in writes if w.object_id not in self._invoices]
        if not wanted:
            return
        rows = (
            Invoice.objects.filter(business_id=self.run.connection.business_id, pk__in=wanted)
            .select_related(
                "business",
                "customer",
                "work_order__category",
                "work_order__location",
                "work_order__assigned_technician__user",
            )
            .prefetch_related(
                Prefetch(
                    "lines", queryset=LineItem.objects.select_related("category", "part__category")
                )
            )
        )
        self._invoices.update({str(row.pk): row for row in rows})

    def has_invoice(self, write: AccountingWrite) -> bool:
        return write.object_id in self._invoices

    def ready(self, write: AccountingWrite) -> bool:
        return write.pk in self._drafts

    def invoice(self, write: AccountingWrite) -> Invoice | None:
        self.load([write])
        return self._invoices.get(write.object_id)

    def _item(self, obj) -> tuple[str, str]:
        key = (type(obj), obj.pk)
        if key not in self._item_refs:
            self._item_refs[key] = (item_link_or_create(self.run, obj).remote_id, item_code(obj))
        return self._item_refs[key]

    def draft(self, write: AccountingWrite) -> InvoiceDraft:
        if write.pk in self._drafts:
            return self._drafts[write.pk]
        invoice = self.invoice(write)
        if invoice is None:
            raise RejectedError("The invoice no longer exists here.")
        run, work_order = self.run, invoice.work_order
        customer_ref = billing_customer_ref(run, invoice)
        lines = []
        for line in invoice.lines.all():
            category = line.category or (work_order.category if work_order else None)
            if line.part is not None:
                item_id, code = self._item(line.part)
            elif category is not None:
                item_id, code = self._item(category)
            else:
                raise RejectedError(f"Line “{line.description}” has no service category or part.")
            revenue = category.revenue_category if category else ""
            account = mapping(run, K.REVENUE, revenue, "default")
            klass = mapping(run, K.CLASS, category.code if category else "", revenue, "default")
            lines.append(
                InvoiceLineDraft(
                    description=line.description,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    amount=line.amount,
                    item_remote_id=item_id,
                    item_code=code,
                    account_code=account.remote_id if account else "",
                    taxable=line.taxable,
                    class_id=klass.remote_id if klass else "",
                    tracking=self._tracking(invoice, category),
                )
            )
        if not lines:
            raise RejectedError("The invoice has no lines.")
        tz = invoice.business.timezone
        completed = work_order.completed_at if work_order else None
        technician = work_order.assigned_technician if work_order else None
        draft = InvoiceDraft(
            number=invoice.number,
            customer_remote_id=customer_ref.remote_id,
            issued_on=invoice.issued_on or timezone.localdate(timezone=tz),
            due_date=invoice.due_date,
            currency=invoice.currency,
            lines=tuple(lines),
            tax_total=invoice.tax,
            tax_code_id=self._tax_code(invoice),
            memo=invoice.memo,
            work_order_number=work_order.number if work_order else "",
            technician_name=str(technician) if technician else "",
            completed_on=timezone.localtime(completed, tz).date() if completed else None,
        )
        self._drafts[write.pk] = draft
        return draft

    def _tax_code(self, invoice: Invoice) -> str:
        rate = invoice.tax_rate.normalize()
        keys = [f"{rate:f}", f"{invoice.tax_rate}", "exempt" if not invoice.tax else "", "default"]
        found = mapping(self.run, K.TAX_CODE, *keys)
        return found.remote_id if found else ""

    def _tracking(self, invoice: Invoice, category) -> tuple[tuple[str, str], ...]:
        """Xero tracking options from the mappings 'category:<code>', 'technician:<user>',
        'region:<state>' whose remote name reads 'Tracking category:Option'."""
        work_order = invoice.work_order
        keys = [f"category:{category.code}" if category else ""]
        if work_order and work_order.assigned_technician:
            keys.append(f"technician:{work_order.assigned_technician.user.username}")
        if work_order and work_order.location.region:
            keys.append(f"region:{work_order.location.region}")
        options = []
        for key in keys:
            found = mapping(self.run, K.TRACKING, key)
            if found and ":" in found.remote_name:
                name, option = found.remote_name.split(":", 1)
                options.append((name.strip(), option.strip()))
        return tuple(options[:2])  # Xero allows two active tracking categories


def invoices_pull(run: Run) -> None:
    """Read back invoice changes: versions, voids and deletions of invoices we pushed."""
    from apps.accounting.services.sync import cursor_after, cursor_get, cursor_set, pull_since

    cursor = cursor_get(run.connection, "invoices") or (timezone.now() - dt.timedelta(days=1))
    changes = run.provider.changes_since(entities=["invoices"], since=pull_since(run, cursor))
    for remote in changes.invoices:
        ref = ref_by_remote(run.connection, Invoice, remote.remote_id)
        if ref is None:
            continue  # not one of ours: we do not import the vendor's invoices
        ref.remote_version, ref.remote_updated_at = remote.version, remote.updated_at
        ref.save(update_fields=["remote_version", "remote_updated_at", "updated_at"])
        voided_here = Invoice.objects.filter(pk=ref.object_id, status=InvoiceStatus.VOID).exists()
        if remote.status == "void" and not voided_here:
            # Not an error of the run: a person decides which side is right. Reported once per
            # version of the void, however often the overlap window reads it again.
            run.warn(
                "invoice",
                ref.object_id,
                f"Invoice {remote.number} was voided in {run.vendor}; "
                "it is still open here. Void it here too, or restore it there.",
                label=remote.number,
                change=f"{remote.remote_id}:void:{remote.version or remote.updated_at}",
            )
    for deletion in changes.deletions:
        ref = ref_by_remote(run.connection, Invoice, deletion.remote_id)
        if ref is None:
            continue
        invoice = Invoice.objects.filter(pk=ref.object_id).first()
        label = invoice.number if invoice else ref.object_id
        ref.delete()
        write = (
            W.objects.filter(
                connection=run.connection,
                entity=W.Entity.INVOICE,
                action=W.Action.CREATE,
                object_id=str(ref.object_id),
            )
            .order_by("-revision")
            .first()
        )
        message = (
            f"Invoice {label} was deleted in {run.vendor}. Retry this error to send it "
            "again, or dismiss it to leave it deleted there."
        )
        if write is not None:
            outbox.write_failed(write, message=message, sync_log=run.sync_log)
        run.fail("invoice", ref.object_id, message, label=label)
    cursor_set(run.connection, "invoices", cursor_after(run, changes))
