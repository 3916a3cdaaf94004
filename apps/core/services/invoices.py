"""Invoice amounts and lines. Money is Decimal end to end, rounded half-up to cents.

The building blocks billing's services share (recalculation, the event, the row lock) live here
with the line services, so billing.py stays about invoices as a whole, payments and refunds.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError
from apps.core.models import (
    Business,
    Invoice,
    InvoiceStatus,
    LineItem,
    Part,
    ServiceCategory,
    User,
    WorkOrderStatus,
)
from apps.core.money import CENT, ZERO, cents, money_sum
from apps.core.services.work_order_lines import line_limits_check
from apps.core.services.work_orders import work_order_transition

PAYABLE_STATUSES = frozenset({InvoiceStatus.OPEN, InvoiceStatus.OVERDUE})


def invoice_recalculate(*, invoice: Invoice) -> Invoice:
    """Amounts from the lines; amount_paid is payments minus refunds.

    A paid invoice that has a balance again (a refund) goes back to open, or overdue once its due
    date has passed. Lock the invoice row before calling.
    """
    lines = list(invoice.lines.all())
    subtotal = cents(sum((line.amount for line in lines), ZERO))
    taxable = sum((line.amount for line in lines if line.taxable), ZERO)
    tax = cents(taxable * invoice.tax_rate / Decimal(100))
    invoice.subtotal, invoice.tax, invoice.total, invoice.amount_paid = (
        subtotal,
        tax,
        subtotal + tax,
        invoice_net_paid(invoice),
    )
    update_fields = ["subtotal", "tax", "total", "amount_paid", "updated_at"]
    if invoice.status == InvoiceStatus.PAID and invoice.balance_due > ZERO:
        invoice.status = _unpaid_status(invoice)
        update_fields.append("status")
    invoice.save(update_fields=update_fields)
    return invoice


def invoice_net_paid(invoice: Invoice) -> Decimal:
    paid = money_sum(invoice.payments.all())
    refunded = money_sum(invoice.refunds.all())
    return paid - refunded


def _unpaid_status(invoice: Invoice) -> str:
    today = timezone.localdate(timezone=invoice.business.timezone)
    if invoice.due_date is not None and invoice.due_date < today:
        return InvoiceStatus.OVERDUE
    return InvoiceStatus.OPEN


def invoice_changed_publish(invoice: Invoice, change: str) -> None:
    events.publish_on_commit(
        events.InvoiceChanged(
            business_id=invoice.business_id,
            invoice_id=invoice.pk,
            change=change,
            occurred_at=timezone.now(),
        )
    )


def invoice_settle_if_paid(invoice: Invoice, by: User | None) -> None:
    """Fully paid: the invoice becomes paid, and its work order too (if still just invoiced)."""
    if invoice.status not in PAYABLE_STATUSES or invoice.amount_paid <= ZERO:
        return
    if invoice.balance_due != ZERO:
        return
    invoice.status = InvoiceStatus.PAID
    invoice.save(update_fields=["status", "updated_at"])
    work_order = invoice.work_order
    if work_order is not None and work_order.status == WorkOrderStatus.INVOICED:
        work_order_transition(work_order=work_order, to_status=WorkOrderStatus.PAID, by=by)


def invoice_lock(invoice: Invoice) -> Invoice:
    return (
        Invoice.objects.select_for_update(of=("self",))
        .select_related("business", "customer")
        .get(pk=invoice.pk)
    )


def invoice_copy_back(target: Invoice, source: Invoice) -> None:
    """Leave the caller's object as fresh as the locked row the service changed."""
    for field in Invoice._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))


LINE_FIELDS = frozenset(
    {"kind", "description", "quantity", "unit_price", "part", "category", "taxable"}
)
LINE_EDITABLE_INVOICE_STATUSES = frozenset(
    {InvoiceStatus.DRAFT, InvoiceStatus.OPEN, InvoiceStatus.OVERDUE}
)


def _lock_for_lines(invoice_id: int, what: str = "lines") -> Invoice:
    locked = invoice_lock(Invoice(pk=invoice_id))
    if locked.status not in LINE_EDITABLE_INVOICE_STATUSES:
        raise DomainError(
            f"The {what} of a {locked.get_status_display().lower()} invoice cannot be changed."
        )
    return locked


def _check_line(line: LineItem, business_id: int) -> None:
    for obj in (line.part, line.category):
        if obj is not None and obj.business_id != business_id:
            raise DomainError(f"{obj._meta.verbose_name} {obj.pk} belongs to another business.")
    if line.kind not in LineItem.Kind.values:
        raise DomainError(f"'{line.kind}' is not a line kind.", field="kind")
    if not (line.description or "").strip():
        raise DomainError("A line needs a description.", field="description")
    if line.quantity is None or Decimal(line.quantity) <= 0:
        raise DomainError("Quantity must be greater than zero.", field="quantity")
    if line.unit_price is None:
        raise DomainError("A unit price is required.", field="unit_price")
    unit_price = Decimal(line.unit_price)
    if unit_price < 0:
        raise DomainError("The unit price cannot be negative.", field="unit_price")
    if unit_price != unit_price.quantize(CENT):
        raise DomainError("The unit price cannot have fractions of a cent.", field="unit_price")
    # The same ceilings as on the work order: one mistyped line must not bill a fortune.
    line_limits_check(
        business=Business.objects.get(pk=business_id),
        quantity=Decimal(line.quantity),
        unit_price=unit_price,
    )


def _after_line_change(locked: Invoice, by: User | None) -> None:
    invoice_recalculate(invoice=locked)
    if locked.total < locked.amount_paid:
        # Raising rolls the whole change back: the invoice never shows more paid than owed.
        raise DomainError(
            f"The new total of {locked.total} would be less than the {locked.amount_paid} "
            "already paid; refund first."
        )
    invoice_settle_if_paid(locked, by)
    invoice_changed_publish(locked, "updated")


@transaction.atomic
def invoice_line_add(
    *,
    invoice: Invoice,
    description: str,
    quantity: Decimal,
    unit_price: Decimal,
    kind: str = LineItem.Kind.SERVICE,
    taxable: bool = True,
    part: Part | None = None,
    category: ServiceCategory | None = None,
    by: User | None = None,
) -> LineItem:
    """A line added at the office on a draft or open invoice (a discount fee, a forgotten part)."""
    locked = _lock_for_lines(invoice.pk)
    line = LineItem(
        business_id=locked.business_id,
        invoice=locked,
        kind=kind,
        description=description,
        quantity=Decimal(quantity) if quantity is not None else None,
        unit_price=Decimal(unit_price) if unit_price is not None else None,
        part=part,
        category=category or (part.category if part else None),
        taxable=taxable,
        created_by=by,
    )
    _check_line(line, locked.business_id)
    line.save()
    _after_line_change(locked, by)
    invoice_copy_back(invoice, locked)
    return line


@transaction.atomic
def invoice_line_update(*, line: LineItem, by: User | None = None, **fields) -> LineItem:
    """Change some of a line's fields (LINE_FIELDS); refused like invoice_line_add."""
    unknown = set(fields) - LINE_FIELDS
    if unknown:
        raise DomainError(f"These line fields cannot be changed: {', '.join(sorted(unknown))}.")
    if line.invoice_id is None:
        raise DomainError("This line is not on an invoice; change it on the work order.")
    locked = _lock_for_lines(line.invoice_id)
    current = LineItem.objects.select_related("part", "category").get(pk=line.pk)
    for name, value in fields.items():
        if name in ("quantity", "unit_price") and value is not None:
            value = Decimal(value)
        setattr(current, name, value)
    _check_line(current, locked.business_id)
    current.save(update_fields=[*fields, "updated_at"])
    _after_line_change(locked, by)
    for name in fields:
        setattr(line, name, getattr(current, name))
    return current


@transaction.atomic
def invoice_line_remove(*, line: LineItem, by: User | None = None) -> None:
    if line.invoice_id is None:
        raise DomainError("This line is not on an invoice; change it on the work order.")
    locked = _lock_for_lines(line.invoice_id)
    LineItem.objects.filter(pk=line.pk).delete()
    _after_line_change(locked, by)


TERM_FIELDS = ("tax_rate", "issued_on", "due_date", "memo")


@transaction.atomic
def invoice_terms_update(*, invoice: Invoice, by: User | None = None, **fields) -> Invoice:
    """Change an invoice's tax rate, dates or memo (the admin form); amounts follow the rate.

    Paid and void invoices keep their terms: the money on them was settled against these.
    """
    unknown = set(fields) - set(TERM_FIELDS)
    if unknown:
        raise DomainError(f"These invoice fields cannot be changed: {', '.join(sorted(unknown))}.")
    locked = _lock_for_lines(invoice.pk, what="terms")
    changed = [name for name, value in fields.items() if getattr(locked, name) != value]
    if not changed:
        return locked
    for name in changed:
        setattr(locked, name, fields[name])
    if locked.tax_rate is None or not (0 <= locked.tax_rate <= 100):
        raise DomainError("The tax rate must be between 0 and 100 percent.", field="tax_rate")
    if locked.issued_on and locked.due_date and locked.due_date < locked.issued_on:
        raise DomainError("The due date cannot be before the issue date.", field="due_date")
    locked.save(update_fields=[*changed, "updated_at"])
    _after_line_change(locked, by)
    invoice_copy_back(invoice, locked)
    return locked
