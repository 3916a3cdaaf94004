"""Refunds from the admin (real SDK against localstripe), agreements (Prism), tenant scoping."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from apps.payments.models import (
    Dispute,
    MaintenanceAgreement,
    MaintenancePlan,
    PaymentAlert,
    Refund,
    StripePaymentIntent,
)
from apps.payments.services.intents import payment_intent_create
from tests import factories as f
from tests.payments.conftest import customer_side, make_connection

MODELS = [
    "stripepaymentintent",
    "refund",
    "dispute",
    "paymentlink",
    "paymentalert",
    "savedpaymentmethod",
    "maintenanceplan",
    "maintenanceagreement",
]


@pytest.fixture
def office(dispatcher, client):
    perms = Permission.objects.filter(content_type__app_label="payments")
    dispatcher.user_permissions.add(*perms)
    client.force_login(dispatcher)
    return client


@pytest.fixture
def paid_intent(stripe_connection, invoice, localstripe):
    record = payment_intent_create(invoice=invoice, payment_method_types=["card"])
    sdk = customer_side(localstripe)
    sdk.v1.payment_intents.update(record.stripe_id, params={"payment_method": "pm_card_visa"})
    sdk.v1.payment_intents.confirm(record.stripe_id)
    # What payment_intent.succeeded sets (covered end to end in test_events).
    StripePaymentIntent.objects.filter(pk=record.pk).update(
        status="succeeded", amount_received=record.amount
    )
    record.refresh_from_db()
    return record


def test_partial_then_full_refund_from_the_admin(office, paid_intent, localstripe):
    response = office.post(
        "/admin/payments/refund/add/",
        {
            "payment_intent": paid_intent.pk,
            "amount": "50.00",
            "reason": "requested_by_customer",
            "note": "Came back early",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    partial = Refund.objects.get()
    assert partial.amount == Decimal("50.00") and partial.status == "succeeded"
    assert partial.stripe_id.startswith("re_")
    remote = customer_side(localstripe).v1.refunds.retrieve(partial.stripe_id)
    assert remote.amount == 5000
    # Blank amount refunds what is left.
    assert (
        office.post(
            "/admin/payments/refund/add/",
            {"payment_intent": paid_intent.pk, "amount": "", "reason": "requested_by_customer"},
        ).status_code
        == 302
    )
    rest = Refund.objects.latest("pk")
    assert rest.amount == Decimal("200.00")
    paid_intent.refresh_from_db()
    assert paid_intent.refundable_amount == 0


def test_refund_over_the_refundable_amount_is_a_form_error(office, paid_intent):
    response = office.post(
        "/admin/payments/refund/add/",
        {"payment_intent": paid_intent.pk, "amount": "250.01", "reason": "requested_by_customer"},
    )
    assert response.status_code == 200
    assert "at most 250.00" in response.content.decode()
    assert not Refund.objects.exists()


def test_refund_refused_while_disputed(office, paid_intent):
    Dispute.objects.create(
        business=paid_intent.business,
        payment_intent=paid_intent,
        stripe_id="dp_1",
        amount=Decimal("250.00"),
        currency="USD",
        status="needs_response",
    )
    response = office.post(
        "/admin/payments/refund/add/",
        {"payment_intent": paid_intent.pk, "amount": "10.00", "reason": "requested_by_customer"},
    )
    assert response.status_code == 200 and "disputed" in response.content.decode()
    assert not Refund.objects.exists()


def test_cannot_refund_another_business_payment(office, other_business, make_invoice):
    connection = make_connection(other_business, "http://127.0.0.1:9")
    invoice = make_invoice(other_business)
    foreign = StripePaymentIntent.objects.create(
        business=other_business,
        connection=connection,
        invoice=invoice,
        customer=invoice.customer,
        idempotency_key="kf",
        stripe_id="pi_foreign",
        amount=Decimal("10.00"),
        amount_received=Decimal("10.00"),
        currency="USD",
        status="succeeded",
    )
    response = office.post(
        "/admin/payments/refund/add/",
        {"payment_intent": foreign.pk, "amount": "5.00", "reason": "requested_by_customer"},
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    assert (
        office.get(f"/admin/payments/stripepaymentintent/{foreign.pk}/change/").status_code == 302
    )  # "doesn't exist"
    assert not Refund.objects.exists()


def test_pages_render_and_show_only_own_rows(office, business, other_business, make_invoice):
    for b, mark in ((business, "OWNALERT"), (other_business, "RIVALALERT")):
        PaymentAlert.objects.create(
            business=b, kind="dispute_opened", message=f"Dispute {mark}", dedupe_key=mark
        )
        MaintenancePlan.objects.create(
            business=b, name=f"Plan {mark}", interval="monthly", price=Decimal("10.00")
        )
    for model in MODELS:
        page = office.get(f"/admin/payments/{model}/")
        assert page.status_code == 200, model
        assert "RIVALALERT" not in page.content.decode()
    assert "OWNALERT" in office.get("/admin/payments/paymentalert/").content.decode()
    assert office.get("/admin/payments/refund/add/").status_code == 200
    assert office.get("/admin/payments/maintenanceagreement/add/").status_code == 200


def test_acknowledge_alert_action(office, business, dispatcher):
    alert = PaymentAlert.objects.create(
        business=business, kind="ach_returned", message="x", dedupe_key="k"
    )
    office.post(
        "/admin/payments/paymentalert/", {"action": "acknowledge", "_selected_action": [alert.pk]}
    )
    alert.refresh_from_db()
    assert alert.acknowledged_by == dispatcher and alert.acknowledged_at is not None


def test_enroll_from_the_admin(office, prism_connection, business):
    category = f.ServiceCategoryFactory(business=business)
    plan = MaintenancePlan.objects.create(
        business=business,
        name="Comfort Club",
        interval="quarterly",
        price=Decimal("45.00"),
        category=category,
    )
    location = f.ServiceLocationFactory(customer__business=business)
    response = office.post(
        "/admin/payments/maintenanceagreement/add/",
        {"customer": location.customer.pk, "location": location.pk, "plan": plan.pk},
    )
    assert response.status_code == 302, (
        response.context["adminform"].form.errors,
        response.context.get("errors"),
    )
    agreement = MaintenanceAgreement.objects.get()
    assert agreement.stripe_subscription_id and agreement.created_by is not None
    # The same plan twice is refused with a message, nothing stored.
    again = office.post(
        "/admin/payments/maintenanceagreement/add/",
        {"customer": location.customer.pk, "location": location.pk, "plan": plan.pk},
    )
    assert again.status_code == 200 and "already has" in again.content.decode()
    assert MaintenanceAgreement.objects.count() == 1


def test_admin_refund_lowers_the_invoice_through_core(
    office, stripe_connection, invoice, localstripe, django_capture_on_commit_callbacks
):
    from apps.core import events
    from apps.core.models import InvoiceStatus
    from apps.payments.services.intents import intent_fulfil

    recorded = []
    events.subscribe(events.RefundRecorded)(recorded.append)

    record = payment_intent_create(invoice=invoice, payment_method_types=["card"])
    sdk = customer_side(localstripe)
    sdk.v1.payment_intents.update(record.stripe_id, params={"payment_method": "pm_card_visa"})
    sdk.v1.payment_intents.confirm(record.stripe_id)
    StripePaymentIntent.objects.filter(pk=record.pk).update(
        status="succeeded", amount_received=record.amount
    )
    record.refresh_from_db()
    intent_fulfil(record=record, at=None)  # what payment_intent.succeeded does
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    with django_capture_on_commit_callbacks(execute=True):
        response = office.post(
            "/admin/payments/refund/add/",
            {"payment_intent": record.pk, "amount": "60.00", "reason": "requested_by_customer"},
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    refund = Refund.objects.get()
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("190.00") and invoice.status == InvoiceStatus.OPEN
    core_refund = invoice.refunds.get()
    assert core_refund.reference == refund.stripe_id and core_refund.amount == Decimal("60.00")
    assert core_refund.recorded_by is not None  # the office user who refunded
    events.unsubscribe(events.RefundRecorded, recorded.append)
    assert [e.refund_id for e in recorded] == [core_refund.pk]
