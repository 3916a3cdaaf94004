"""Invoice lifecycle: issue, void, office lines, and the InvoiceChanged event after commit."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError
from apps.core.models import Invoice, InvoiceStatus, LineItem, PaymentTerms, WorkOrder
from apps.core.services.billing import (
    invoice_create_for_work_order,
    invoice_issue,
    invoice_line_add,
    invoice_line_remove,
    invoice_line_update,
    invoice_terms_update,
    invoice_void,
    payment_record,
    payment_refund_record,
)
from tests import factories as f
from tests.core.conftest import S


def _fresh(invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def _changes(seen) -> list[str]:
    return [e.change for e in seen if isinstance(e, events.InvoiceChanged)]


@pytest.fixture
def draft_invoice(make_order, business):
    work_order = make_order(S.COMPLETED, location__customer__payment_terms=PaymentTerms.NET_30)
    f.LineItemFactory(work_order=work_order, unit_price=Decimal("200.00"))
    return invoice_create_for_work_order(work_order=work_order, issue=False)


# --- invoice_create_for_work_order ------------------------------------------------------------


def test_create_and_issue_publishes_issued_besides_the_transition(
    make_order, core_events, django_capture_on_commit_callbacks
):
    work_order = make_order(S.COMPLETED)
    f.LineItemFactory(work_order=work_order)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_create_for_work_order(work_order=work_order)
        assert core_events == []

    kinds = [
        (type(e).__name__, getattr(e, "to_status", getattr(e, "change", None))) for e in core_events
    ]
    assert kinds == [("WorkOrderStatusChanged", S.INVOICED), ("InvoiceChanged", "issued")]
    assert core_events[1].invoice_id == invoice.pk
    assert core_events[1].business_id == invoice.business_id


def test_create_as_draft_publishes_no_invoice_event(
    make_order, core_events, django_capture_on_commit_callbacks
):
    work_order = make_order(S.COMPLETED)
    f.LineItemFactory(work_order=work_order)
    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_create_for_work_order(work_order=work_order, issue=False)
    assert invoice.status == InvoiceStatus.DRAFT
    assert [type(e).__name__ for e in core_events] == ["WorkOrderStatusChanged"]


# --- invoice_issue -----------------------------------------------------------------------------


def test_issue_dates_in_business_zone_and_terms(
    draft_invoice, business, core_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        issued = invoice_issue(invoice=draft_invoice)
        assert core_events == []

    today = timezone.localdate(timezone=business.timezone)
    stored = _fresh(draft_invoice)
    assert stored.status == InvoiceStatus.OPEN == draft_invoice.status == issued.status
    assert stored.issued_on == today
    assert stored.due_date == today + dt.timedelta(days=30)
    [event] = core_events
    assert (event.invoice_id, event.change) == (draft_invoice.pk, "issued")


def test_issue_refused_unless_draft(billed_invoice):
    with pytest.raises(
        DomainError, match=r"Only a draft invoice can be issued; this one is open\."
    ):
        invoice_issue(invoice=billed_invoice)


def test_issue_refused_without_lines(draft_invoice):
    LineItem.objects.filter(invoice=draft_invoice).delete()
    with pytest.raises(DomainError, match=r"An invoice with no lines cannot be issued\."):
        invoice_issue(invoice=draft_invoice)
    assert _fresh(draft_invoice).status == InvoiceStatus.DRAFT


def test_issue_rolled_back_publishes_nothing(
    draft_invoice, core_events, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ZeroDivisionError),
        transaction.atomic(),
    ):
        invoice_issue(invoice=draft_invoice)
        1 / 0  # noqa: B018
    assert callbacks == []
    assert core_events == []
    assert _fresh(draft_invoice).status == InvoiceStatus.DRAFT


# --- invoice_void ------------------------------------------------------------------------------


def test_void_refused_with_net_payments_then_allowed_after_full_refund(
    billed_invoice, core_events, django_capture_on_commit_callbacks
):
    payment = payment_record(invoice=billed_invoice, amount=Decimal("50.00"), method="cash")
    with pytest.raises(
        DomainError,
        match=r"^The invoice has 50\.00 paid on it; refund the payments first, then void it\.$",
    ):
        invoice_void(invoice=billed_invoice, reason="Duplicate")
    payment_refund_record(payment=payment, amount=Decimal("20.00"))
    with pytest.raises(DomainError, match=r"has 30\.00 paid on it"):
        invoice_void(invoice=billed_invoice)
    payment_refund_record(payment=payment, amount=Decimal("30.00"))

    with django_capture_on_commit_callbacks(execute=True):
        invoice_void(invoice=billed_invoice, reason="Duplicate of INV-7")

    stored = _fresh(billed_invoice)
    assert stored.status == InvoiceStatus.VOID == billed_invoice.status
    assert stored.memo == "Voided: Duplicate of INV-7"
    assert _changes(core_events) == ["voided"]
    # The work was done; voiding the paperwork leaves the order where it was.
    assert WorkOrder.objects.get(pk=stored.work_order_id).status == S.INVOICED
    with pytest.raises(DomainError, match="A void invoice cannot take payments"):
        payment_record(invoice=billed_invoice, amount=Decimal("1.00"), method="cash")


def test_void_appends_reason_to_existing_memo(draft_invoice):
    Invoice.objects.filter(pk=draft_invoice.pk).update(memo="Gate code 1234")
    invoice_void(invoice=draft_invoice, reason="  Customer cancelled  ")
    assert _fresh(draft_invoice).memo == "Gate code 1234\nVoided: Customer cancelled"


def test_void_without_reason_keeps_memo(draft_invoice):
    invoice_void(invoice=draft_invoice)
    stored = _fresh(draft_invoice)
    assert (stored.status, stored.memo) == (InvoiceStatus.VOID, "")


def test_void_twice_refused(draft_invoice):
    invoice_void(invoice=draft_invoice)
    with pytest.raises(DomainError, match=r"The invoice is already void\."):
        invoice_void(invoice=draft_invoice)


# --- invoice lines -----------------------------------------------------------------------------


def test_line_add_recalculates_and_publishes_updated(
    billed_invoice, core_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        line = invoice_line_add(
            invoice=billed_invoice,
            description="Filter",
            quantity=Decimal("2"),
            unit_price=Decimal("10.00"),
            kind="part",
        )
        assert core_events == []

    # 183.63 + 20.00 taxable at 8.25% (1.65).
    stored = _fresh(billed_invoice)
    assert stored.total == Decimal("205.28") == billed_invoice.total
    assert (line.invoice_id, line.work_order_id, line.taxable) == (billed_invoice.pk, None, True)
    assert line.category is None
    assert _changes(core_events) == ["updated"]


def test_line_add_on_draft_still_publishes_updated(
    draft_invoice, core_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice_line_add(
            invoice=draft_invoice,
            description="Discount fee",
            quantity=Decimal("1"),
            unit_price=Decimal("5.00"),
            kind="fee",
            taxable=False,
        )
    assert _fresh(draft_invoice).total == Decimal("205.00")
    assert _changes(core_events) == ["updated"]


@pytest.mark.parametrize(
    ("values", "message", "field"),
    [
        ({"quantity": Decimal("0")}, "Quantity must be greater than zero.", "quantity"),
        ({"unit_price": Decimal("-1.00")}, "The unit price cannot be negative.", "unit_price"),
        (
            {"unit_price": Decimal("1.005")},
            "The unit price cannot have fractions of a cent.",
            "unit_price",
        ),
        ({"kind": "gift"}, "'gift' is not a line kind.", "kind"),
        ({"description": "  "}, "A line needs a description.", "description"),
    ],
)
def test_line_add_refusals(billed_invoice, values, message, field):
    args = {"description": "Labour", "quantity": Decimal("1"), "unit_price": Decimal("1.00")}
    args.update(values)
    with pytest.raises(DomainError) as caught:
        invoice_line_add(invoice=billed_invoice, **args)
    assert (caught.value.message, caught.value.field) == (message, field)
    assert _fresh(billed_invoice).total == Decimal("183.63")


def test_line_add_refuses_part_of_another_business(billed_invoice, other_business):
    part = f.PartFactory(business=other_business)
    with pytest.raises(DomainError, match="belongs to another business"):
        invoice_line_add(
            invoice=billed_invoice,
            description="Part",
            quantity=Decimal("1"),
            unit_price=Decimal("1.00"),
            part=part,
        )


@pytest.mark.parametrize("status", [InvoiceStatus.PAID, InvoiceStatus.VOID])
def test_lines_refused_on_paid_and_void(billed_invoice, status):
    line = billed_invoice.lines.first()
    Invoice.objects.filter(pk=billed_invoice.pk).update(status=status)
    message = rf"The lines of a {status} invoice cannot be changed\."
    with pytest.raises(DomainError, match=message):
        invoice_line_add(
            invoice=billed_invoice,
            description="x",
            quantity=Decimal("1"),
            unit_price=Decimal("1.00"),
        )
    with pytest.raises(DomainError, match=message):
        invoice_line_update(line=line, unit_price=Decimal("1.00"))
    with pytest.raises(DomainError, match=message):
        invoice_line_remove(line=line)
    assert LineItem.objects.filter(pk=line.pk, unit_price=line.unit_price).exists()


def test_line_update_recalculates(billed_invoice, core_events, django_capture_on_commit_callbacks):
    fee = billed_invoice.lines.get(kind="fee")
    with django_capture_on_commit_callbacks(execute=True):
        updated = invoice_line_update(line=fee, unit_price="75.00", description="Permit (county)")
    assert (updated.unit_price, updated.description) == (Decimal("75.00"), "Permit (county)")
    assert fee.unit_price == Decimal("75.00")
    assert _fresh(billed_invoice).total == Decimal("208.63")
    assert _changes(core_events) == ["updated"]


def test_line_update_refuses_unknown_fields_and_work_order_lines(billed_invoice, make_order):
    line = billed_invoice.lines.first()
    with pytest.raises(DomainError, match=r"These line fields cannot be changed: invoice\."):
        invoice_line_update(line=line, invoice=None)
    loose = f.LineItemFactory(work_order=make_order(S.ON_SITE))
    with pytest.raises(DomainError, match="This line is not on an invoice"):
        invoice_line_update(line=loose, quantity=Decimal("2"))
    with pytest.raises(DomainError, match="This line is not on an invoice"):
        invoice_line_remove(line=loose)


def test_line_change_below_amount_paid_refused_and_rolled_back(billed_invoice):
    payment_record(invoice=billed_invoice, amount=Decimal("150.00"), method="card")
    labour = billed_invoice.lines.get(kind="service")
    fee = billed_invoice.lines.get(kind="fee")

    with pytest.raises(
        DomainError,
        match=r"The new total of 50\.00 would be less than the 150\.00 already paid; refund first\.",
    ):
        invoice_line_remove(line=labour)
    with pytest.raises(DomainError, match=r"would be less than the 150\.00 already paid"):
        invoice_line_update(line=labour, unit_price=Decimal("1.00"))

    assert LineItem.objects.filter(pk=labour.pk, unit_price=Decimal("123.45")).exists()
    assert _fresh(billed_invoice).total == Decimal("183.63")
    # Dropping to exactly what was paid settles the invoice (and its work order).
    invoice_line_update(line=fee, unit_price=Decimal("16.37"))
    stored = _fresh(billed_invoice)
    assert (stored.total, stored.status) == (Decimal("150.00"), InvoiceStatus.PAID)
    assert WorkOrder.objects.get(pk=stored.work_order_id).status == S.PAID


def test_line_remove_recalculates(billed_invoice, core_events, django_capture_on_commit_callbacks):
    fee = billed_invoice.lines.get(kind="fee")
    with django_capture_on_commit_callbacks(execute=True):
        invoice_line_remove(line=fee)
    assert not LineItem.objects.filter(pk=fee.pk).exists()
    assert _fresh(billed_invoice).total == Decimal("133.63")
    assert _changes(core_events) == ["updated"]


def test_amounts_constraint_holds_after_full_refund(billed_invoice):
    payment = payment_record(invoice=billed_invoice, amount=Decimal("183.63"), method="card")
    payment_refund_record(payment=payment, amount=Decimal("183.63"))
    stored = _fresh(billed_invoice)
    assert stored.amount_paid == Decimal("0.00")
    assert stored.status == InvoiceStatus.OPEN


# --- invoice_terms_update ----------------------------------------------------------------------


def test_terms_update_recalculates_and_publishes(
    billed_invoice, core_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice_terms_update(invoice=billed_invoice, tax_rate=Decimal("10"), memo="Thanks!")
    stored = _fresh(billed_invoice)
    assert (stored.tax, stored.total, stored.memo) == (
        Decimal("12.35"),
        Decimal("185.80"),
        "Thanks!",
    )
    assert billed_invoice.total == Decimal("185.80")
    assert _changes(core_events) == ["updated"]


def test_terms_update_without_a_change_publishes_nothing(
    billed_invoice, core_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        invoice_terms_update(invoice=billed_invoice, tax_rate=Decimal("8.2500"))
    assert core_events == []


@pytest.mark.parametrize(
    ("fields", "message", "field"),
    [
        (
            {"tax_rate": Decimal("-1")},
            "The tax rate must be between 0 and 100 percent.",
            "tax_rate",
        ),
        (
            {"tax_rate": Decimal("100.01")},
            "The tax rate must be between 0 and 100 percent.",
            "tax_rate",
        ),
        (
            {"due_date": dt.date(2000, 1, 1)},
            "The due date cannot be before the issue date.",
            "due_date",
        ),
        ({"total": Decimal("1.00")}, "These invoice fields cannot be changed: total.", None),
    ],
)
def test_terms_update_refusals(billed_invoice, fields, message, field):
    with pytest.raises(DomainError) as caught:
        invoice_terms_update(invoice=billed_invoice, **fields)
    assert (caught.value.message, caught.value.field) == (message, field)
    assert _fresh(billed_invoice).tax_rate == Decimal("8.25")


@pytest.mark.parametrize("status", [InvoiceStatus.PAID, InvoiceStatus.VOID])
def test_terms_refused_on_paid_and_void(billed_invoice, status):
    Invoice.objects.filter(pk=billed_invoice.pk).update(status=status)
    with pytest.raises(DomainError, match=rf"The terms of a {status} invoice cannot be changed\."):
        invoice_terms_update(invoice=billed_invoice, memo="late note")
