"""Parts, labour and fee lines of an open work order: add, change, remove.

Who may change or remove a line (`line_change_refusal`):
- the line is still the work order's: not on an invoice yet (then the invoice's lines are
  changed instead) and the work order is open (new up to on site, or on hold);
- office staff may change any such line;
- a technician only lines they added themselves, on a work order assigned to them. A line the
  office added (a quoted price, a fee) is not the technician's to change on site.

Every line is held to the business's ceilings (`line_limits_check`): quantity and amount of
one line, on add and on every change, from the API and from the admin.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError, NotPermitted
from apps.core.models import (
    Business,
    LineItem,
    Part,
    ServiceCategory,
    User,
    WorkOrder,
    WorkOrderStatus,
)
from apps.core.models.work_orders import LINE_EDITABLE_STATUSES
from apps.core.money import cents

S = WorkOrderStatus
SYMBOLS = {"USD": "$", "CAD": "$", "AUD": "$", "EUR": "\u20ac", "GBP": "\u00a3"}


def _money(amount: Decimal, currency: str) -> str:
    symbol = SYMBOLS.get(currency)
    return f"{symbol}{amount:,.2f}" if symbol else f"{amount:,.2f} {currency}"


def line_limits_check(*, business: Business, quantity: Decimal, unit_price: Decimal) -> None:
    """Refuse a line beyond the business's ceilings, saying what the limit is and where it is
    set."""
    quantity, unit_price = Decimal(quantity), Decimal(unit_price)
    if quantity > business.line_quantity_max:
        raise DomainError(
            f"A quantity of {quantity.normalize():,f} is more than one line may have "
            f"({business.line_quantity_max.normalize():,f}). Check the number; if it is right, "
            "the office can raise the limit in the business settings.",
            code="line_limit",
            field="quantity",
        )
    amount = cents(quantity * unit_price)
    if amount > business.line_amount_max:
        currency = business.currency
        raise DomainError(
            f"This line would come to {_money(amount, currency)}, more than one line "
            f"may be worth ({_money(business.line_amount_max, currency)}). Check the "
            "quantity and price; if they are right, the office can raise the limit in the "
            "business settings.",
            code="line_limit",
            field="unit_price" if quantity <= 1 else "quantity",
        )


def line_change_refusal(
    *, line: LineItem, work_order: WorkOrder, by: User | None
) -> DomainError | None:
    """Why `by` may not change or remove this line now (the error to raise), or None."""
    if line.invoice_id is not None:
        return DomainError("This line is on an invoice already; change the invoice instead.")
    if work_order.status not in LINE_EDITABLE_STATUSES:
        return DomainError(
            f"Lines cannot be changed on a work order that is {S(work_order.status).label.lower()}."
        )
    if by is None or by.is_superuser or by.is_office_staff:
        return None
    technician = work_order.assigned_technician
    if technician is None or technician.user_id != by.pk:
        return NotPermitted("Only the assigned technician can change this work order's lines.")
    if line.created_by_id != by.pk:
        return NotPermitted(
            "You can change only the lines you added; ask the office to change this one."
        )
    return None


def _publish(line_id: int, work_order: WorkOrder, change: str, by: User | None) -> None:
    events.publish_on_commit(
        events.WorkOrderLineChanged(
            business_id=work_order.business_id,
            work_order_id=work_order.pk,
            line_id=line_id,
            change=change,
            changed_by_id=by.pk if by else None,
            occurred_at=timezone.now(),
        )
    )


def _same_business(business_id: int, *objects) -> None:
    for obj in objects:
        if obj is not None and obj.business_id != business_id:
            raise DomainError(f"{obj._meta.verbose_name} {obj.pk} belongs to another business.")


@transaction.atomic
def work_order_line_add(
    *,
    work_order: WorkOrder,
    kind: str,
    description: str,
    quantity: Decimal,
    unit_price: Decimal | None = None,
    part: Part | None = None,
    category: ServiceCategory | None = None,
    taxable: bool = True,
    by: User | None = None,
) -> LineItem:
    """Parts and labour added on site. Refused once the job is closed (completed or later)."""
    locked = (
        WorkOrder.objects.select_for_update(of=("self",))
        .select_related("business")
        .get(pk=work_order.pk)
    )
    if locked.status not in LINE_EDITABLE_STATUSES:
        raise DomainError(
            f"Lines cannot be added to a work order that is {S(locked.status).label.lower()}."
        )
    _same_business(locked.business_id, part, category)
    if kind not in LineItem.Kind.values:
        raise DomainError(f"'{kind}' is not a line kind.", field="kind")
    if quantity is None or Decimal(quantity) <= 0:
        raise DomainError("Quantity must be greater than zero.", field="quantity")
    if unit_price is None:
        if part is None:
            raise DomainError(
                "A unit price is required unless a part from the catalogue is given.",
                field="unit_price",
            )
        unit_price = part.unit_price
    if Decimal(unit_price) < 0:
        raise DomainError("The unit price cannot be negative.", field="unit_price")
    line_limits_check(business=locked.business, quantity=quantity, unit_price=unit_price)
    line = LineItem.objects.create(
        business_id=locked.business_id,
        work_order=locked,
        kind=kind,
        description=description or (part.name if part else ""),
        quantity=Decimal(quantity),
        unit_price=Decimal(unit_price),
        part=part,
        category=category or (part.category if part else None) or locked.category,
        taxable=taxable,
        created_by=by,
    )
    _publish(line.pk, locked, "added", by)
    return line


@transaction.atomic
def work_order_line_update(
    *,
    line: LineItem,
    by: User | None,
    description: str | None = None,
    quantity: Decimal | None = None,
    unit_price: Decimal | None = None,
    taxable: bool | None = None,
    kind: str | None = None,
    part: Part | None = None,
    category: ServiceCategory | None = None,
) -> LineItem:
    """Change a line of an open work order (None leaves a field as it is). The technicians'
    API changes description, quantity, price and taxable; the office may also change the
    kind, part and revenue category."""
    if line.work_order_id is None:
        raise DomainError("This line is not on a work order; change it on its invoice.")
    locked = (
        WorkOrder.objects.select_for_update(of=("self",))
        .select_related("business", "assigned_technician")
        .get(pk=line.work_order_id)
    )
    current = LineItem.objects.select_for_update().get(pk=line.pk)
    refusal = line_change_refusal(line=current, work_order=locked, by=by)
    if refusal is not None:
        raise refusal
    changed = []
    if description is not None:
        if not description.strip():
            raise DomainError("A line needs a description.", field="description")
        current.description, changed = description, [*changed, "description"]
    if quantity is not None:
        if Decimal(quantity) <= 0:
            raise DomainError("Quantity must be greater than zero.", field="quantity")
        current.quantity, changed = Decimal(quantity), [*changed, "quantity"]
    if unit_price is not None:
        if Decimal(unit_price) < 0:
            raise DomainError("The unit price cannot be negative.", field="unit_price")
        current.unit_price, changed = Decimal(unit_price), [*changed, "unit_price"]
    if taxable is not None:
        current.taxable, changed = taxable, [*changed, "taxable"]
    if kind is not None:
        if kind not in LineItem.Kind.values:
            raise DomainError(f"'{kind}' is not a line kind.", field="kind")
        current.kind, changed = kind, [*changed, "kind"]
    _same_business(locked.business_id, part, category)
    if part is not None:
        current.part, changed = part, [*changed, "part"]
    if category is not None:
        current.category, changed = category, [*changed, "category"]
    line_limits_check(
        business=locked.business, quantity=current.quantity, unit_price=current.unit_price
    )
    if changed:
        current.save(update_fields=[*changed, "updated_at"])
        _publish(current.pk, locked, "updated", by)
    for name in ("description", "quantity", "unit_price", "taxable", "kind", "updated_at"):
        setattr(line, name, getattr(current, name))
    line.part_id, line.category_id = current.part_id, current.category_id
    return current


@transaction.atomic
def work_order_line_remove(*, line: LineItem, by: User | None) -> None:
    """Remove a line of an open work order (added by mistake, or not used after all)."""
    if line.work_order_id is None:
        raise DomainError("This line is not on a work order; change it on its invoice.")
    locked = (
        WorkOrder.objects.select_for_update(of=("self",))
        .select_related("assigned_technician")
        .get(pk=line.work_order_id)
    )
    current = LineItem.objects.select_for_update().get(pk=line.pk)
    refusal = line_change_refusal(line=current, work_order=locked, by=by)
    if refusal is not None:
        raise refusal
    line_id = current.pk
    current.delete()
    _publish(line_id, locked, "removed", by)
