"""Invoices, payments and refunds. Money is Decimal end to end, rounded half-up to cents."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError
from apps.core.models import (
    Invoice,
    InvoiceStatus,
    LineItem,
    Payment,
    PaymentMethod,
    Refund,
    User,
    WorkOrder,
    WorkOrderStatus,
)
from apps.core.money import money_sum
from apps.core.services.invoices import (
    CENT,
    ZERO,
    invoice_changed_publish,
    invoice_copy_back,
    invoice_line_add,
    invoice_line_remove,
    invoice_line_update,
    invoice_lock,
    invoice_net_paid,
    invoice_recalculate,
    invoice_settle_if_paid,
    invoice_terms_update,
)
from apps.core.services.work_orders import _next_number, work_order_transition

# Re-exported: other apps import every invoice write from here.
__all__ = [
    "invoice_create_for_work_order",
    "invoice_issue",
    "invoice_line_add",
    "invoice_line_remove",
    "invoice_line_update",
    "invoice_recalculate",
    "invoice_terms_update",
    "invoice_void",
    "payment_record",
    "payment_refund_record",
]


@transaction.atomic
def invoice_create_for_work_order(
    *, work_order: WorkOrder, tax_rate: Decimal = ZERO, issue: bool = True, by: User | None = None
) -> Invoice:
    """Invoice a completed work order: its lines move onto the invoice; the order becomes invoiced."""
    locked = (
        WorkOrder.objects.select_for_update(of=("self",))
        .select_related("business", "customer")
        .get(pk=work_order.pk)
    )
    if locked.status != WorkOrderStatus.COMPLETED:
        raise DomainError("Only a completed work order can be invoiced.")
    lines = LineItem.objects.filter(work_order=locked, invoice__isnull=True)
    if not lines.exists():
        raise DomainError("The work order has no lines to invoice.")
    today = timezone.localdate(timezone=locked.business.timezone)
    invoice = Invoice.objects.create(
        business_id=locked.business_id,
        number=_next_number(locked.business, "invoice_sequence", "INV"),
        customer=locked.customer,
        work_order=locked,
        currency=locked.business.currency,
        tax_rate=tax_rate,
        status=InvoiceStatus.OPEN if issue else InvoiceStatus.DRAFT,
        issued_on=today if issue else None,
        due_date=today + dt.timedelta(days=locked.customer.payment_terms) if issue else None,
    )
    lines.update(invoice=invoice)
    invoice_recalculate(invoice=invoice)
    work_order_transition(work_order=locked, to_status=WorkOrderStatus.INVOICED, by=by)
    if issue:
        # WorkOrderStatusChanged(invoiced) still goes out; this is the one signal for invoices.
        invoice_changed_publish(invoice, "issued")
    return invoice


@transaction.atomic
def payment_record(
    *,
    invoice: Invoice,
    amount: Decimal,
    method: str,
    received_at: dt.datetime | None = None,
    reference: str = "",
    by: User | None = None,
) -> Payment:
    """Apply a payment to an invoice; a fully paid invoice becomes paid, and so does its work order."""
    locked = Invoice.objects.select_for_update().get(pk=invoice.pk)
    amount = Decimal(amount)
    if amount <= 0:
        raise DomainError("A payment must be greater than zero.", field="amount")
    if amount != amount.quantize(CENT):
        raise DomainError("A payment cannot have fractions of a cent.", field="amount")
    if method not in PaymentMethod.values:
        raise DomainError(f"'{method}' is not a payment method.", field="method")
    if locked.status in (InvoiceStatus.VOID, InvoiceStatus.DRAFT):
        raise DomainError(f"A {locked.get_status_display().lower()} invoice cannot take payments.")
    if amount > locked.balance_due:
        raise DomainError(
            f"The payment of {amount} is more than the balance due of {locked.balance_due}.",
            field="amount",
        )
    received_at = received_at or timezone.now()
    if timezone.is_naive(received_at):
        raise DomainError("The received time must include a time zone.", field="received_at")
    payment = Payment.objects.create(
        business_id=locked.business_id,
        customer_id=locked.customer_id,
        invoice=locked,
        amount=amount,
        currency=locked.currency,
        method=method,
        received_at=received_at,
        reference=reference,
        recorded_by=by,
    )
    invoice_recalculate(invoice=locked)
    invoice_settle_if_paid(locked, by)
    events.publish_on_commit(
        events.PaymentRecorded(
            business_id=locked.business_id,
            payment_id=payment.pk,
            invoice_id=locked.pk,
            occurred_at=timezone.now(),
        )
    )
    invoice.refresh_from_db()
    return payment


@transaction.atomic
def payment_refund_record(
    *,
    payment: Payment,
    amount: Decimal,
    refunded_at: dt.datetime | None = None,
    reason: str = "",
    reference: str = "",
    by: User | None = None,
) -> Refund:
    """Record money returned on a payment; the invoice's paid amount falls and may reopen it.

    The work order keeps its status (paid stays paid): the work was done, and only the money
    moved. A non-empty reference (a Stripe refund id) makes this idempotent, so a replayed
    webhook returns the refund already recorded.
    """
    amount = Decimal(amount)
    if amount <= 0:
        raise DomainError("A refund must be greater than zero.", field="amount")
    if amount != amount.quantize(CENT):
        raise DomainError("A refund cannot have fractions of a cent.", field="amount")
    refunded_at = refunded_at or timezone.now()
    if timezone.is_naive(refunded_at):
        raise DomainError("The refund time must include a time zone.", field="refunded_at")
    # The invoice lock serialises this with payments and other refunds on the same invoice; the
    # payment lock does the same for a payment on no invoice.
    invoice = None
    if payment.invoice_id is not None:
        invoice = Invoice.objects.select_for_update().get(pk=payment.invoice_id)
    locked = Payment.objects.select_for_update().get(pk=payment.pk)
    if reference:
        existing = Refund.objects.filter(
            business_id=locked.business_id, reference=reference
        ).first()
        if existing is not None:
            if existing.payment_id != locked.pk:
                raise DomainError(
                    f"The reference {reference} is already used by a refund of another payment.",
                    field="reference",
                )
            return existing
    refunded = money_sum(locked.refunds.all())
    left = locked.amount - refunded
    if amount > left:
        raise DomainError(
            f"The refund of {amount} is more than the {left} left to refund on this payment.",
            field="amount",
        )
    refund = Refund.objects.create(
        business_id=locked.business_id,
        payment=locked,
        invoice=invoice,
        amount=amount,
        currency=locked.currency,
        refunded_at=refunded_at,
        reason=reason,
        reference=reference,
        recorded_by=by,
    )
    if invoice is not None:
        invoice_recalculate(invoice=invoice)
    events.publish_on_commit(
        events.RefundRecorded(
            business_id=refund.business_id,
            refund_id=refund.pk,
            payment_id=locked.pk,
            invoice_id=refund.invoice_id,
            amount=amount,
            currency=refund.currency,
            occurred_at=timezone.now(),
        )
    )
    return refund


@transaction.atomic
def invoice_issue(*, invoice: Invoice, by: User | None = None) -> Invoice:
    """Draft to open: dated today in the business's time zone, due after the customer's terms."""
    locked = invoice_lock(invoice)
    if locked.status != InvoiceStatus.DRAFT:
        raise DomainError(
            f"Only a draft invoice can be issued; this one is {locked.get_status_display().lower()}."
        )
    if not locked.lines.exists():
        raise DomainError("An invoice with no lines cannot be issued.")
    today = timezone.localdate(timezone=locked.business.timezone)
    locked.status = InvoiceStatus.OPEN
    locked.issued_on = today
    locked.due_date = today + dt.timedelta(days=locked.customer.payment_terms)
    locked.save(update_fields=["status", "issued_on", "due_date", "updated_at"])
    invoice_changed_publish(locked, "issued")
    invoice_copy_back(invoice, locked)
    return locked


@transaction.atomic
def invoice_void(*, invoice: Invoice, reason: str = "", by: User | None = None) -> Invoice:
    """Cancel an invoice that holds no money. Its work order keeps its status (the work was done)."""
    locked = invoice_lock(invoice)
    if locked.status == InvoiceStatus.VOID:
        raise DomainError("The invoice is already void.")
    net_paid = invoice_net_paid(locked)
    if net_paid > ZERO:
        raise DomainError(
            f"The invoice has {net_paid} paid on it; refund the payments first, then void it."
        )
    locked.status = InvoiceStatus.VOID
    update_fields = ["status", "updated_at"]
    if reason.strip():
        note = f"Voided: {reason.strip()}"
        locked.memo = f"{locked.memo}\n{note}" if locked.memo else note
        update_fields.append("memo")
    locked.save(update_fields=update_fields)
    invoice_changed_publish(locked, "voided")
    invoice_copy_back(invoice, locked)
    return locked
