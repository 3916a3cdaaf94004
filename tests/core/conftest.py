from decimal import Decimal

import pytest

from apps.core import events
from apps.core.models import WorkOrder, WorkOrderStatus
from tests import factories as f

S = WorkOrderStatus
# Every event type core publishes; tests/conftest.py's captured_events predates the newer ones.
CORE_EVENTS = (
    events.WorkOrderCreated,
    events.WorkOrderStatusChanged,
    events.WorkOrderAssigned,
    events.WorkOrderWindowChanged,
    events.PaymentRecorded,
    events.RefundRecorded,
    events.InvoiceChanged,
)


@pytest.fixture
def make_order(business, technician):
    """A work order put straight into a status (setup only), assigned and with a window."""

    def make(status: str = S.NEW, **overrides) -> WorkOrder:
        values = {"location__customer__business": business, "assigned_technician": technician}
        values.update(overrides)
        work_order = f.WorkOrderFactory(**values)
        WorkOrder.objects.filter(pk=work_order.pk).update(status=status)
        work_order.refresh_from_db()
        return work_order

    return make


@pytest.fixture
def core_events():
    """Every core domain event delivered (after commit) while the test runs, in order."""
    seen: list[object] = []
    for kind in CORE_EVENTS:
        events.subscribe(kind)(seen.append)
    yield seen
    for kind in CORE_EVENTS:
        events.unsubscribe(kind, seen.append)


@pytest.fixture
def billed_invoice(make_order, dispatcher):
    """An open invoice of 183.63: 123.45 taxable labour + 8.25% tax, and a 50.00 untaxed fee."""
    from apps.core.services.billing import invoice_create_for_work_order

    work_order = make_order(S.COMPLETED)
    f.LineItemFactory(work_order=work_order, unit_price=Decimal("123.45"), description="Labour")
    f.LineItemFactory(work_order=work_order, kind="fee", unit_price=Decimal("50.00"), taxable=False)
    return invoice_create_for_work_order(
        work_order=work_order, tax_rate=Decimal("8.25"), by=dispatcher
    )
