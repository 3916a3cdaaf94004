"""Invoices, payments and customers in the admin."""

from decimal import Decimal

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from apps.core.models import Customer, Invoice, Payment, ServiceLocation


@pytest.fixture
def signed_in(client, office_dispatcher):
    client.force_login(office_dispatcher)
    return client


def test_invoice_totals_are_read_only_and_lines_and_payments_shown(signed_in, own):
    url = reverse("admin:core_invoice_change", args=[own.invoice.pk])
    body = signed_in.get(url).content.decode()
    for field in ("subtotal", "tax", "total", "amount_paid"):
        assert f'name="{field}"' not in body
    assert 'name="tax_rate"' in body
    assert "Repair ACMEMARK" in body  # line, read-only
    assert "Cash ACMEMARK" in body  # payment, read-only
    assert 'name="lines-0-description"' not in body
    assert 'name="payments-0-amount"' not in body


def test_invoices_are_not_added_by_hand(signed_in, own):
    assert signed_in.get(reverse("admin:core_invoice_add")).status_code == 403


def test_recalculate_totals_action(signed_in, own):
    Invoice.objects.filter(pk=own.invoice.pk).update(
        subtotal=Decimal("1.00"), tax=Decimal("0.00"), total=Decimal("1.00")
    )
    response = signed_in.post(
        reverse("admin:core_invoice_changelist"),
        {"action": "recalculate_totals", "_selected_action": [own.invoice.pk]},
        follow=True,
    )
    own.invoice.refresh_from_db()
    assert (own.invoice.subtotal, own.invoice.total) == (Decimal("100.00"), Decimal("100.00"))
    assert [m.message for m in get_messages(response.wsgi_request)] == [
        "Recalculated 1 invoice(s)."
    ]


def test_changing_the_tax_rate_recalculates(signed_in, own):
    url = reverse("admin:core_invoice_change", args=[own.invoice.pk])
    data = {
        "issued_on": own.invoice.issued_on.isoformat(),
        "due_date": own.invoice.due_date.isoformat(),
        "tax_rate": "10.0000",
        "memo": "",
        "lines-TOTAL_FORMS": 0,
        "lines-INITIAL_FORMS": 0,
        "payments-TOTAL_FORMS": 0,
        "payments-INITIAL_FORMS": 0,
    }
    assert signed_in.post(url, data).status_code == 302
    own.invoice.refresh_from_db()
    assert (own.invoice.tax, own.invoice.total) == (Decimal("10.00"), Decimal("110.00"))


def payment_form(invoice, amount):
    now = timezone.localtime(timezone=invoice.business.timezone)  # typed as local time
    return {
        "invoice": invoice.pk,
        "amount": amount,
        "method": "check",
        "received_at_0": now.strftime("%Y-%m-%d"),
        "received_at_1": now.strftime("%H:%M:%S"),
        "reference": "Check 1042",
    }


def test_adding_a_payment_goes_through_payment_record(signed_in, own, office_dispatcher):
    response = signed_in.post(reverse("admin:core_payment_add"), payment_form(own.invoice, "40.00"))
    assert response.status_code == 302
    payment = Payment.objects.get(reference="Check 1042")
    assert payment.recorded_by == office_dispatcher
    assert payment.business == own.business
    assert payment.customer == own.customer
    own.invoice.refresh_from_db()
    assert own.invoice.amount_paid == Decimal("50.00")  # 10.00 in the world + 40.00


def test_payment_refused_by_the_service_is_a_form_error(signed_in, own):
    response = signed_in.post(reverse("admin:core_payment_add"), payment_form(own.invoice, "500"))
    assert response.status_code == 200
    assert "is more than the balance due of 90.00" in response.content.decode()
    assert not Payment.objects.filter(reference="Check 1042").exists()


def test_zero_payment_is_a_form_error(signed_in, own):
    response = signed_in.post(reverse("admin:core_payment_add"), payment_form(own.invoice, "0"))
    assert "A payment must be greater than zero." in response.content.decode()


def test_payments_are_not_edited_after_recording(signed_in, own):
    url = reverse("admin:core_payment_change", args=[own.payment.pk])
    body = signed_in.get(url).content.decode()
    assert 'name="amount"' not in body
    assert signed_in.post(url, {"amount": "1"}).status_code == 403


def customer_form(**overrides):
    return {
        "display_name": "Jordan Lee",
        "email": "jordan@example.com",
        "phone": "(303) 555-0187",
        "payment_terms": 0,
        "country": "US",
        "email_opt_in": "on",
        "locations-TOTAL_FORMS": 1,
        "locations-INITIAL_FORMS": 0,
        "locations-0-label": "Home",
        "locations-0-address_line1": "44 Elm St",
        "locations-0-city": "Denver",
        "locations-0-country": "US",
        "locations-0-timezone": "America/Denver",
        **overrides,
    }


def test_customer_phone_is_stored_and_listed_in_e164(signed_in, business):
    response = signed_in.post(reverse("admin:core_customer_add"), customer_form())
    assert response.status_code == 302
    customer = Customer.objects.get(display_name="Jordan Lee")
    assert customer.phone.as_e164 == "+13035550187"
    assert customer.business == business
    location = ServiceLocation.objects.get(customer=customer)
    assert location.business == business  # inline rows take the parent's business
    body = signed_in.get(reverse("admin:core_customer_changelist")).content.decode()
    assert "+13035550187" in body


def test_invalid_phone_is_a_form_error(signed_in, business):
    response = signed_in.post(reverse("admin:core_customer_add"), customer_form(phone="555-12"))
    assert response.status_code == 200
    assert "Enter a valid phone number" in response.content.decode()
    assert not Customer.objects.filter(display_name="Jordan Lee").exists()


def test_consent_change_is_timestamped(signed_in, own):
    url = reverse("admin:core_customer_change", args=[own.customer.pk])
    data = customer_form(
        display_name=own.customer.display_name,
        phone="+13035550123",
        sms_opt_in="on",
        **{"locations-TOTAL_FORMS": 0},
    )
    assert signed_in.post(url, data).status_code == 302
    own.customer.refresh_from_db()
    assert own.customer.sms_opt_in
    assert own.customer.consent_updated_at is not None
