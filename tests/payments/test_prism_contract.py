"""Calls localstripe lacks (Billing, Payment Links, setup_future_usage, refund reasons), made with
the real SDK against Prism serving Stripe's official OpenAPI spec: Prism validates every request
against the spec (a malformed one gets 422) and answers with the spec's example objects."""

from decimal import Decimal

import pytest

from apps.core.errors import DomainError
from apps.payments.models import (
    AgreementStatus,
    MaintenanceAgreement,
    MaintenancePlan,
    PaymentLink,
    Refund,
    StripeCustomer,
    StripePaymentIntent,
)
from apps.payments.services.agreements import (
    agreement_cancel,
    agreement_change_plan,
    agreement_enroll,
)
from apps.payments.services.intents import payment_intent_create
from apps.payments.services.links import payment_link_get_or_create
from apps.payments.services.refunds import refund_create
from tests import factories as f


@pytest.fixture
def plans(business):
    category = f.ServiceCategoryFactory(business=business)
    monthly = MaintenancePlan.objects.create(
        business=business,
        name="Monthly care",
        interval="monthly",
        price=Decimal("19.00"),
        category=category,
    )
    yearly = MaintenancePlan.objects.create(
        business=business,
        name="Yearly care",
        interval="yearly",
        price=Decimal("199.00"),
        visits_per_period=2,
        category=category,
    )
    return monthly, yearly


def test_enroll_change_plan_and_cancel(prism_connection, business, plans):
    monthly, yearly = plans
    location = f.ServiceLocationFactory(customer__business=business)
    agreement = agreement_enroll(customer=location.customer, plan=monthly)
    assert (
        agreement.stripe_subscription_id
        and agreement.idempotency_key == f"thorbis:sub:{agreement.pk}"
    )
    assert agreement.status in AgreementStatus.values and agreement.location == location
    monthly.refresh_from_db()
    assert (
        monthly.stripe_product_id
        and monthly.stripe_price_id
        and monthly.stripe_price_amount == Decimal("19.00")
    )
    with pytest.raises(DomainError, match="already has"):
        agreement_enroll(customer=location.customer, plan=monthly)

    changed = agreement_change_plan(agreement=agreement, plan=yearly)
    assert changed.plan == yearly and changed.plan_changes == 1
    canceled = agreement_cancel(agreement=changed, at_period_end=False)
    assert canceled.pk == agreement.pk


def test_price_change_makes_a_new_stripe_price(prism_connection, business, plans):
    from apps.payments.services.agreements import plan_price_ensure

    monthly, _ = plans
    plan_price_ensure(plan=monthly, connection=prism_connection)
    monthly.price = Decimal("21.00")
    monthly.save()
    plan_price_ensure(plan=monthly, connection=prism_connection)
    monthly.refresh_from_db()
    assert monthly.stripe_price_amount == Decimal("21.00")


def test_enroll_refuses_foreign_or_inactive_plans(
    prism_connection, business, other_business, plans
):
    monthly, _ = plans
    foreign_customer = f.CustomerFactory(business=other_business)
    with pytest.raises(DomainError, match="another business"):
        agreement_enroll(customer=foreign_customer, plan=monthly)
    monthly.active = False
    monthly.save()
    with pytest.raises(DomainError, match="no longer offered"):
        agreement_enroll(customer=f.CustomerFactory(business=business), plan=monthly)
    assert not MaintenanceAgreement.objects.exists()


def test_payment_link_for_an_invoice(prism_connection, invoice):
    link = payment_link_get_or_create(invoice=invoice)
    assert link.stripe_id and link.stripe_price_id and link.amount == Decimal("250.00")
    assert link.url  # what comms puts in texts and reminders (Prism answers a placeholder)
    assert payment_link_get_or_create(invoice=invoice).pk == link.pk  # same balance, same link


def test_intent_that_saves_the_card_for_next_time(prism_connection, invoice):
    record = payment_intent_create(
        invoice=invoice, save_payment_method=True, payment_method_types=["card"]
    )
    assert record.stripe_id


def test_fraudulent_refund_sends_stripe_reason(prism_connection, invoice):
    StripeCustomer.objects.create(
        business=invoice.business,
        connection=prism_connection,
        customer=invoice.customer,
        stripe_id="cus_x",
        idempotency_key="kc",
    )
    intent = StripePaymentIntent.objects.create(
        business=invoice.business,
        connection=prism_connection,
        invoice=invoice,
        customer=invoice.customer,
        idempotency_key="kp",
        stripe_id="pi_x",
        amount=Decimal("250.00"),
        amount_received=Decimal("250.00"),
        currency="USD",
        status="succeeded",
    )
    refund = refund_create(intent=intent, amount=Decimal("25.00"), reason=Refund.Reason.FRAUDULENT)
    assert refund.stripe_id and refund.reason == "fraudulent"


def test_payment_link_api(prism_connection, technician, invoice):
    from tests.payments.test_api import api_for

    response = api_for(technician.user).post(
        f"/api/v1/payments/invoices/{invoice.pk}/payment-link/"
    )
    assert response.status_code == 200
    assert response.json()["amount"] == "250.00" and PaymentLink.objects.count() == 1
