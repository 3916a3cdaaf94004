"""Invoices go out the moment a work order completes; a payment recorded here follows."""

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounting.models import AccountingWrite
from apps.accounting.services.refs import ref_get
from apps.core import models as m
from apps.core.services.billing import payment_record
from apps.core.services.work_orders import work_order_transition
from tests import factories as f

pytestmark = pytest.mark.django_db


def _on_site(business, technician, category):
    work_order = f.WorkOrderFactory(
        location=f.ServiceLocationFactory(
            customer=f.CustomerFactory(business=business, display_name="Lee Park")
        ),
        category=category,
        assigned_technician=technician,
        number="WO-000321",
    )
    f.LineItemFactory(
        work_order=work_order, description="Replace capacitor", unit_price=Decimal("185.00")
    )
    for status in ("scheduled", "dispatched", "en_route", "on_site"):
        work_order_transition(work_order=work_order, to_status=status, by=None)
    return work_order


def test_completing_a_work_order_invoices_it_and_pushes_it_at_once(
    qbo, qbo_connection, books, business, technician, category, django_capture_on_commit_callbacks
):
    work_order = _on_site(business, technician, category)

    with django_capture_on_commit_callbacks(execute=True):
        work_order_transition(work_order=work_order, to_status="completed", by=technician.user)

    invoice = m.Invoice.objects.get(work_order=work_order)
    work_order.refresh_from_db()
    assert work_order.status == m.WorkOrderStatus.INVOICED
    remote = books.rows["Invoice"][ref_get(qbo_connection, invoice).remote_id]
    assert remote["DocNumber"] == invoice.number
    completed_on = timezone.localtime(work_order.completed_at, business.timezone).date().isoformat()
    assert {c["Name"]: c["StringValue"] for c in remote["CustomField"]} == {
        "Work order": "WO-000321",
        "Technician": str(technician),
        "Completed": completed_on,
    }
    assert remote["TxnDate"] == invoice.issued_on.isoformat()  # the business's date, not UTC's
    assert not [p for _, p in qbo.requests if "/cdc" in p]  # an event-driven run only sends


def test_with_auto_invoicing_off_the_office_invoice_is_pushed(
    qbo_connection, books, business, technician, category, django_capture_on_commit_callbacks
):
    qbo_connection.settings = {**qbo_connection.settings, "invoice_on_completion": False}
    qbo_connection.save()
    work_order = _on_site(business, technician, category)
    with django_capture_on_commit_callbacks(execute=True):
        work_order_transition(work_order=work_order, to_status="completed", by=technician.user)
    assert not m.Invoice.objects.exists() and books.rows["Invoice"] == {}

    from apps.core.services.billing import invoice_create_for_work_order

    with django_capture_on_commit_callbacks(execute=True):
        invoice = invoice_create_for_work_order(work_order=work_order, tax_rate=Decimal("8.25"))

    remote = books.rows["Invoice"][ref_get(qbo_connection, invoice).remote_id]
    assert Decimal(str(remote["TotalAmt"])) == invoice.total == Decimal("200.26")


def test_a_payment_taken_in_the_field_follows_its_invoice(
    qbo_connection, books, business, technician, category, django_capture_on_commit_callbacks
):
    work_order = _on_site(business, technician, category)
    with django_capture_on_commit_callbacks(execute=True):
        work_order_transition(work_order=work_order, to_status="completed", by=technician.user)
    invoice = m.Invoice.objects.get(work_order=work_order)

    with django_capture_on_commit_callbacks(execute=True):
        payment = payment_record(
            invoice=invoice, amount=invoice.total, method="check", reference="2231"
        )

    remote = books.rows["Payment"][ref_get(qbo_connection, payment).remote_id]
    assert remote["PaymentRefNum"] == "2231"
    assert AccountingWrite.objects.get(entity="payment").status == AccountingWrite.Status.DONE


def test_a_business_without_accounting_is_left_alone(
    business, technician, category, django_capture_on_commit_callbacks
):
    work_order = _on_site(business, technician, category)

    with django_capture_on_commit_callbacks(execute=True):
        work_order_transition(work_order=work_order, to_status="completed", by=technician.user)

    assert not m.Invoice.objects.exists() and not AccountingWrite.objects.exists()
