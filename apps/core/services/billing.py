"""Invoices and payments. Money is Decimal end to end, rounded half-up to cents."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError
from apps.core.models import (
    Invoice,
    InvoiceStatus,
    LineItem,
    Payment,
    PaymentMethod,
    User,
    WorkOrder,
    WorkOrderStatus,
)
from apps.core.services.work_orders import _next_number, work_order_transition

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def invoice_recalculate(*, invoice: Invoice) -> Invoice:
    lines = list(invoice.lines.all())
    subtotal = _cents(sum((line.amount for line in lines), ZERO))
    taxable = sum((line.amount for line in lines if line.taxable), ZERO)
    tax = _cents(taxable * invoice.tax_rate / Decimal(100))
    paid = invoice.payments.aggregate(total=Sum("amount"))["total"] or ZERO
    invoice.subtotal, invoice.tax, invoice.total, invoice.amount_paid = (
        subtotal,
        tax,
        subtotal + tax,
        paid,
    )
    invoice.save(update_fields=["subtotal", "tax", "total", "amount_paid", "updated_at"])
    return invoice


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
    if locked.balance_due == ZERO:
        locked.status = InvoiceStatus.PAID
        locked.save(update_fields=["status", "updated_at"])
        work_order = locked.work_order
        if work_order is not None and work_order.status == WorkOrderStatus.INVOICED:
            work_order_transition(work_order=work_order, to_status=WorkOrderStatus.PAID, by=by)
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
