"""Lines, invoices and payments: Decimal money rounded half-up to cents, dates in the business's
time zone, and the work order following its invoice (completed -> invoiced -> paid)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError
from apps.core.models import (
    Invoice,
    InvoiceStatus,
    LineItem,
    Payment,
    PaymentMethod,
    PaymentTerms,
    WorkOrder,
    WorkOrderStatus,
    WorkOrderStatusChange,
)
from apps.core.models.work_orders import LINE_EDITABLE_STATUSES
from apps.core.services.billing import invoice_create_for_work_order, payment_record
from apps.core.services.work_orders import work_order_line_add, work_order_transition
from tests import factories as f

S = WorkOrderStatus


@pytest.fixture
def make_order(business, technician):
    def make(status: str = S.ON_SITE) -> WorkOrder:
        work_order = f.WorkOrderFactory(
            location__customer__business=business, assigned_technician=technician
        )
        WorkOrder.objects.filter(pk=work_order.pk).update(status=status)  # setup only
        work_order.refresh_from_db()
        return work_order

    return make


@pytest.fixture
def completed_order(make_order, technician):
    """Completed through the service, with 123.45 taxable labour and a 50.00 untaxed permit fee."""
    work_order = make_order(S.ON_SITE)
    _line(work_order, unit_price=Decimal("123.45"), description="Replace blower motor")
    _line(work_order, kind="fee", unit_price=Decimal("50.00"), taxable=False, description="Permit")
    work_order_transition(work_order=work_order, to_status=S.COMPLETED, by=technician.user)
    return work_order


def _line(work_order, **values) -> LineItem:
    values.setdefault("kind", "service")
    values.setdefault("description", "Labour")
    values.setdefault("quantity", Decimal("1"))
    return work_order_line_add(work_order=work_order, **values)


# --- work_order_line_add -----------------------------------------------------------------------


def test_line_price_defaults_from_part(make_order, business, technician):
    category = f.ServiceCategoryFactory(business=business, code="parts", name="Parts")
    part = f.PartFactory(business=business, unit_price=Decimal("38.50"), category=category)
    work_order = make_order(S.ON_SITE)

    line = work_order_line_add(
        work_order=work_order,
        kind="part",
        description="",
        quantity=Decimal("2"),
        part=part,
        by=technician.user,
    )

    assert line.unit_price == Decimal("38.50")
    assert line.description == part.name
    assert line.category == category
    assert line.amount == Decimal("77.00")
    assert (line.business, line.created_by) == (business, technician.user)


def test_line_explicit_price_wins_over_part(make_order, business):
    part = f.PartFactory(business=business, unit_price=Decimal("38.50"))
    line = _line(make_order(), kind="part", part=part, unit_price=Decimal("30.00"))
    assert line.unit_price == Decimal("30.00")
    assert line.category == line.work_order.category  # the part has none


def test_line_without_price_or_part_refused(make_order):
    with pytest.raises(DomainError, match="unit price is required") as caught:
        _line(make_order(), unit_price=None)
    assert caught.value.field == "unit_price"


@pytest.mark.parametrize("status", sorted(LINE_EDITABLE_STATUSES))
def test_lines_added_while_job_is_open(make_order, status):
    line = _line(make_order(status), unit_price=Decimal("10"))
    assert LineItem.objects.filter(pk=line.pk).exists()


@pytest.mark.parametrize("status", [S.COMPLETED, S.INVOICED, S.PAID, S.CANCELLED])
def test_lines_refused_once_job_is_closed(make_order, status):
    work_order = make_order(status)
    label = S(status).label.lower()
    with pytest.raises(DomainError, match=f"Lines cannot be added to a work order that is {label}"):
        _line(work_order, unit_price=Decimal("10"))
    assert not LineItem.objects.exists()


@pytest.mark.parametrize("quantity", [Decimal("0"), Decimal("-1"), None])
def test_line_quantity_must_be_positive(make_order, quantity):
    with pytest.raises(DomainError, match="Quantity must be greater than zero") as caught:
        _line(make_order(), quantity=quantity, unit_price=Decimal("10"))
    assert caught.value.field == "quantity"


def test_line_negative_price_refused(make_order):
    with pytest.raises(DomainError, match="cannot be negative") as caught:
        _line(make_order(), unit_price=Decimal("-0.01"))
    assert caught.value.field == "unit_price"


def test_line_kind_must_be_known(make_order):
    with pytest.raises(DomainError, match="'discount' is not a line kind"):
        _line(make_order(), kind="discount", unit_price=Decimal("10"))


def test_line_part_of_another_business_refused(make_order, other_business):
    foreign_part = f.PartFactory(business=other_business)
    with pytest.raises(DomainError, match="belongs to another business"):
        _line(make_order(), kind="part", part=foreign_part)
    assert not LineItem.objects.exists()


def test_line_amount_is_quantity_times_price_in_cents(make_order):
    line = _line(make_order(), quantity=Decimal("1.333"), unit_price=Decimal("19.99"))
    line.refresh_from_db()
    assert line.amount == Decimal("26.65")  # 26.64667
    assert line.amount.as_tuple().exponent == -2


def test_line_amount_rounds_half_cents_up(make_order):
    line = _line(make_order(), quantity=Decimal("0.5"), unit_price=Decimal("12.25"))
    assert line.amount == Decimal("6.13")  # 6.125


# --- invoice_create_for_work_order -------------------------------------------------------------


def test_invoice_amounts_are_exact_decimals(completed_order, dispatcher):
    invoice = invoice_create_for_work_order(
        work_order=completed_order, tax_rate=Decimal("8.25"), by=dispatcher
    )
    invoice.refresh_from_db()

    assert invoice.subtotal == Decimal("173.45")
    assert invoice.tax == Decimal("10.18")  # 8.25% of the taxable 123.45 only = 10.184625
    assert invoice.total == Decimal("183.63")
    assert invoice.amount_paid == Decimal("0.00")
    assert invoice.balance_due == Decimal("183.63")
    assert all(isinstance(v, Decimal) for v in (invoice.subtotal, invoice.tax, invoice.total))


def test_invoice_tax_rounds_half_up(make_order, technician, dispatcher):
    work_order = make_order(S.ON_SITE)
    _line(work_order, unit_price=Decimal("130.00"))
    work_order_transition(work_order=work_order, to_status=S.COMPLETED, by=technician.user)

    invoice = invoice_create_for_work_order(
        work_order=work_order, tax_rate=Decimal("8.25"), by=dispatcher
    )

    assert invoice.tax == Decimal("10.73")  # 10.725; half-even would give 10.72
    assert invoice.total == Decimal("140.73")


def test_invoice_moves_work_order_to_invoiced(completed_order, dispatcher):
    invoice = invoice_create_for_work_order(work_order=completed_order, by=dispatcher)

    assert invoice.number == "INV-000001"
    assert invoice.status == InvoiceStatus.OPEN
    assert (invoice.customer, invoice.work_order) == (completed_order.customer, completed_order)
    assert invoice.currency == completed_order.business.currency
    assert set(invoice.lines.all()) == set(completed_order.lines.all())
    assert WorkOrder.objects.get(pk=completed_order.pk).status == S.INVOICED
    change = WorkOrderStatusChange.objects.filter(work_order=completed_order).last()
    assert (change.from_status, change.to_status, change.changed_by) == (
        S.COMPLETED,
        S.INVOICED,
        dispatcher,
    )


def test_invoice_numbers_count_per_business(completed_order, make_order, technician, dispatcher):
    first = invoice_create_for_work_order(work_order=completed_order, by=dispatcher)
    second_order = make_order(S.ON_SITE)
    _line(second_order, unit_price=Decimal("89.00"))
    work_order_transition(work_order=second_order, to_status=S.COMPLETED, by=technician.user)
    second = invoice_create_for_work_order(work_order=second_order, by=dispatcher)
    assert (first.number, second.number) == ("INV-000001", "INV-000002")


def test_draft_invoice_has_no_dates(completed_order, dispatcher):
    invoice = invoice_create_for_work_order(work_order=completed_order, issue=False, by=dispatcher)
    assert invoice.status == InvoiceStatus.DRAFT
    assert (invoice.issued_on, invoice.due_date) == (None, None)


@pytest.mark.parametrize(
    ("business_tz", "terms", "issued", "due"),
    [
        # 03:30 UTC on 1 March is still the evening of 28 February in Denver.
        ("America/Denver", PaymentTerms.NET_30, dt.date(2025, 2, 28), dt.date(2025, 3, 30)),
        ("America/Denver", PaymentTerms.DUE_ON_RECEIPT, dt.date(2025, 2, 28), dt.date(2025, 2, 28)),
        ("UTC", PaymentTerms.NET_15, dt.date(2025, 3, 1), dt.date(2025, 3, 16)),
    ],
)
def test_due_date_from_terms_in_business_time_zone(
    monkeypatch, completed_order, dispatcher, business_tz, terms, issued, due
):
    business = completed_order.business
    business.timezone = business_tz
    business.save(update_fields=["timezone"])
    completed_order.customer.payment_terms = terms
    completed_order.customer.save(update_fields=["payment_terms"])
    frozen = dt.datetime(2025, 3, 1, 3, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: frozen)

    invoice = invoice_create_for_work_order(work_order=completed_order, by=dispatcher)

    invoice.refresh_from_db()
    assert (invoice.issued_on, invoice.due_date) == (issued, due)


@pytest.mark.parametrize("status", [S.ON_SITE, S.INVOICED, S.CANCELLED])
def test_only_completed_orders_are_invoiced(make_order, dispatcher, status):
    work_order = make_order(status)
    f.LineItemFactory(work_order=work_order)
    with pytest.raises(DomainError, match="Only a completed work order can be invoiced"):
        invoice_create_for_work_order(work_order=work_order, by=dispatcher)
    assert not Invoice.objects.exists()


def test_order_without_lines_not_invoiced(make_order, dispatcher):
    work_order = make_order(S.COMPLETED)
    with pytest.raises(DomainError, match="no lines to invoice"):
        invoice_create_for_work_order(work_order=work_order, by=dispatcher)
    assert not Invoice.objects.exists()
    assert WorkOrder.objects.get(pk=work_order.pk).status == S.COMPLETED


# --- payment_record ----------------------------------------------------------------------------


@pytest.fixture
def open_invoice(completed_order, dispatcher) -> Invoice:
    """Total 183.63 (173.45 + 8.25% tax on 123.45)."""
    return invoice_create_for_work_order(
        work_order=completed_order, tax_rate=Decimal("8.25"), by=dispatcher
    )


def _pay(invoice, amount, **extra) -> Payment:
    extra.setdefault("method", PaymentMethod.CARD)
    return payment_record(invoice=invoice, amount=Decimal(amount), **extra)


def test_partial_then_full_payment_settles_invoice_and_work_order(open_invoice, dispatcher):
    work_order = open_invoice.work_order

    first = _pay(open_invoice, "100.00", by=dispatcher, reference="4242")

    assert open_invoice.status == InvoiceStatus.OPEN
    assert open_invoice.amount_paid == Decimal("100.00")
    assert open_invoice.balance_due == Decimal("83.63")
    assert WorkOrder.objects.get(pk=work_order.pk).status == S.INVOICED
    assert (first.customer, first.currency, first.recorded_by) == (
        open_invoice.customer,
        open_invoice.currency,
        dispatcher,
    )

    _pay(open_invoice, "83.63", method=PaymentMethod.CHECK, by=dispatcher)

    assert open_invoice.status == InvoiceStatus.PAID
    assert open_invoice.amount_paid == Decimal("183.63")
    assert open_invoice.balance_due == Decimal("0.00")
    assert WorkOrder.objects.get(pk=work_order.pk).status == S.PAID


def test_overpayment_refused(open_invoice):
    _pay(open_invoice, "100.00")
    with pytest.raises(DomainError, match=r"more than the balance due of 83\.63") as caught:
        _pay(open_invoice, "83.64")
    assert caught.value.field == "amount"
    assert Payment.objects.count() == 1
    assert Invoice.objects.get(pk=open_invoice.pk).amount_paid == Decimal("100.00")


@pytest.mark.parametrize("amount", ["0", "-5.00"])
def test_payment_must_be_positive(open_invoice, amount):
    with pytest.raises(DomainError, match="greater than zero"):
        _pay(open_invoice, amount)
    assert not Payment.objects.exists()


def test_payment_method_must_be_known(open_invoice):
    with pytest.raises(DomainError, match="'bitcoin' is not a payment method") as caught:
        _pay(open_invoice, "10.00", method="bitcoin")
    assert caught.value.field == "method"


@pytest.mark.parametrize("status", [InvoiceStatus.DRAFT, InvoiceStatus.VOID])
def test_draft_and_void_invoices_refuse_payments(open_invoice, status):
    Invoice.objects.filter(pk=open_invoice.pk).update(status=status)
    with pytest.raises(DomainError, match=f"A {status} invoice cannot take payments"):
        _pay(open_invoice, "10.00")
    assert not Payment.objects.exists()


def test_naive_received_at_refused(open_invoice):
    with pytest.raises(DomainError, match="must include a time zone") as caught:
        _pay(open_invoice, "10.00", received_at=dt.datetime(2025, 3, 1, 9, 0))
    assert caught.value.field == "received_at"
    assert not Payment.objects.exists()


def test_received_at_defaults_to_now_and_keeps_given_time(open_invoice):
    before = timezone.now()
    defaulted = _pay(open_invoice, "10.00")
    assert before <= defaulted.received_at <= timezone.now()
    given = dt.datetime(2025, 3, 1, 16, 0, tzinfo=dt.UTC)
    assert _pay(open_invoice, "10.00", received_at=given).received_at == given


def test_payment_recorded_event_after_commit(
    open_invoice, captured_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        payment = _pay(open_invoice, "50.00")
        assert captured_events == []

    [event] = captured_events
    assert isinstance(event, events.PaymentRecorded)
    assert (event.business_id, event.payment_id, event.invoice_id) == (
        open_invoice.business_id,
        payment.pk,
        open_invoice.pk,
    )


def test_full_payment_also_publishes_the_paid_transition(
    open_invoice, captured_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        _pay(open_invoice, "183.63")

    kinds = [(type(e).__name__, getattr(e, "to_status", None)) for e in captured_events]
    assert kinds == [("WorkOrderStatusChanged", S.PAID), ("PaymentRecorded", None)]


def test_payment_with_fractions_of_a_cent_is_refused(db):
    line = f.LineItemFactory()
    WorkOrder.objects.filter(pk=line.work_order.pk).update(status=WorkOrderStatus.COMPLETED)
    invoice = invoice_create_for_work_order(work_order=line.work_order)
    with pytest.raises(DomainError, match="fractions of a cent"):
        payment_record(invoice=invoice, amount=Decimal("10.005"), method="cash")
    assert not invoice.payments.exists()
