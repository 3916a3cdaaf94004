"""A Stripe webhook touches only the receiving connection's objects (issue 12, item 1).

Business B signs events with its own endpoint secret and posts them to its own URL, naming
business A's objects by their Stripe ids. Each handler must refuse them (the inbox row `refused`,
a rejected webhook counted on B's connection) and change nothing of A's or B's.
"""

import datetime as dt
import hashlib
import hmac
import time
from decimal import Decimal

import pytest
import structlog
from django.utils import timezone

from apps.core.models import InvoiceStatus, Payment
from apps.integrations.models import IntegrationActivity, Outcome
from apps.integrations.models.inbox import InboundEvent
from apps.payments.models import (
    AgreementPeriod,
    Dispute,
    IntentStatus,
    MaintenanceAgreement,
    MaintenancePlan,
    PaymentAlert,
    PaymentLink,
    Refund,
    SavedPaymentMethod,
    StripeCustomer,
    StripePaymentIntent,
)
from tests import factories as f
from tests.payments.conftest import intent_object, make_connection, stripe_event

RIVAL_SECRET = "whsec_rival_business_0002"


@pytest.fixture
def connection(business):
    return make_connection(business, "http://127.0.0.1:9", external_account_id="acct_a")


@pytest.fixture
def rival(other_business):
    return make_connection(
        other_business,
        "http://127.0.0.1:9",
        external_account_id="acct_b",
        credentials={"secret_key": "sk_test_rival", "webhook_secret": RIVAL_SECRET},
    )


@pytest.fixture
def rival_invoice(other_business, make_invoice):
    return make_invoice(other_business)


def _intent(connection, invoice, stripe_id, **extra):
    return StripePaymentIntent.objects.create(
        business=invoice.business,
        connection=connection,
        invoice=invoice,
        customer=invoice.customer,
        idempotency_key=f"thorbis:pi:{stripe_id}",
        stripe_id=stripe_id,
        amount=invoice.balance_due,
        currency="USD",
        payment_method_types=["card"],
        **extra,
    )


@pytest.fixture
def record(connection, invoice):
    return _intent(connection, invoice, "pi_business_a")


@pytest.fixture
def post_rival(rival, post_event):
    def post(event):
        response = post_event(rival, event, secret=RIVAL_SECRET)
        assert response.status_code == 200
        return InboundEvent.objects.get(provider_event_id=event["id"])

    return post


def _assert_refused(stored, rival, *, mentioning: str):
    stored.refresh_from_db()
    assert stored.status == InboundEvent.Status.REFUSED, stored.error
    assert mentioning in stored.error
    assert IntegrationActivity.objects.filter(
        connection=rival, outcome=Outcome.REJECTED, operation__endswith="refused"
    ).exists()


def test_another_accounts_payment_intent_cannot_pay_anyones_invoice(
    record, invoice, rival, rival_invoice, post_rival
):
    """The reported attack: A's PaymentIntent id (visible in its client secret) with one of B's
    invoice ids in the metadata, signed by B, posted to B's own URL."""
    obj = intent_object(record, metadata={"thorbis_invoice_id": str(rival_invoice.pk)})
    stored = post_rival(stripe_event("payment_intent.succeeded", obj))

    _assert_refused(stored, rival, mentioning="pi_business_a")
    record.refresh_from_db()
    invoice.refresh_from_db()
    rival_invoice.refresh_from_db()
    assert record.status == IntentStatus.REQUIRES_PAYMENT_METHOD and record.payment is None
    assert invoice.status == InvoiceStatus.OPEN and rival_invoice.status == InvoiceStatus.OPEN
    assert not Payment.objects.exists()
    assert not StripePaymentIntent.objects.filter(connection=rival).exists()


def test_metadata_of_another_business_is_refused(invoice, rival, rival_invoice, post_rival):
    obj = intent_object(
        None,
        id="pi_new_elsewhere",
        amount=Decimal("250.00"),
        metadata={
            "thorbis_business_id": str(invoice.business_id),
            "thorbis_invoice_id": str(rival_invoice.pk),
        },
    )
    stored = post_rival(stripe_event("payment_intent.succeeded", obj))

    _assert_refused(stored, rival, mentioning="another business")
    rival_invoice.refresh_from_db()
    assert rival_invoice.status == InvoiceStatus.OPEN and not Payment.objects.exists()


def test_checkout_session_naming_another_accounts_intent_is_refused(
    record, invoice, rival, rival_invoice, post_rival
):
    session = {
        "id": "cs_forged",
        "object": "checkout.session",
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": record.stripe_id,
        "payment_link": "",
        "amount_total": 25000,
        "currency": "usd",
        "metadata": {"thorbis_invoice_id": str(rival_invoice.pk)},
    }
    stored = post_rival(stripe_event("checkout.session.completed", session))

    _assert_refused(stored, rival, mentioning="pi_business_a")
    record.refresh_from_db()
    invoice.refresh_from_db()
    assert record.status != IntentStatus.SUCCEEDED and invoice.status == InvoiceStatus.OPEN
    assert not Payment.objects.exists()


def test_checkout_session_naming_another_accounts_link_is_refused(
    connection, invoice, rival, post_rival
):
    link = PaymentLink.objects.create(
        business=invoice.business,
        connection=connection,
        invoice=invoice,
        idempotency_key="thorbis:plink:a:1",
        stripe_id="plink_business_a",
        url="https://buy.stripe.com/test_a",
        amount=invoice.balance_due,
        currency="USD",
    )
    session = {
        "id": "cs_forged_link",
        "object": "checkout.session",
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": "pi_fresh_b",
        "payment_link": link.stripe_id,
        "amount_total": 25000,
        "currency": "usd",
        "metadata": {},
    }
    stored = post_rival(stripe_event("checkout.session.completed", session))

    _assert_refused(stored, rival, mentioning="plink_business_a")
    link.refresh_from_db()
    invoice.refresh_from_db()
    assert link.completed_at is None and invoice.status == InvoiceStatus.OPEN


def _charge(intent_id, *, refunds, charge_id="ch_b"):
    return {
        "id": charge_id,
        "object": "charge",
        "amount": 25000,
        "currency": "usd",
        "payment_intent": intent_id,
        "amount_refunded": sum(r["amount"] for r in refunds),
        "refunds": {"object": "list", "data": refunds},
    }


def test_refund_naming_another_accounts_payment_is_refused(record, rival, post_rival):
    refund = {
        "id": "re_forged",
        "object": "refund",
        "amount": 25000,
        "currency": "usd",
        "status": "succeeded",
        "payment_intent": record.stripe_id,
        "metadata": {},
    }
    stored = post_rival(
        stripe_event("charge.refunded", _charge(record.stripe_id, refunds=[refund]))
    )

    _assert_refused(stored, rival, mentioning="pi_business_a")
    assert not Refund.objects.exists()


def test_refund_id_of_another_account_is_refused(record, invoice, rival, rival_invoice, post_rival):
    a_refund = Refund.objects.create(
        business=invoice.business,
        payment_intent=record,
        stripe_id="re_business_a",
        amount=Decimal("50.00"),
        currency="USD",
        status=Refund.Status.PENDING,
    )
    b_intent = _intent(rival, rival_invoice, "pi_business_b", status=IntentStatus.SUCCEEDED)
    forged = {
        "id": a_refund.stripe_id,
        "object": "refund",
        "amount": 5000,
        "currency": "usd",
        "status": "succeeded",
        "payment_intent": b_intent.stripe_id,
        "metadata": {},
    }
    stored = post_rival(
        stripe_event("charge.refunded", _charge(b_intent.stripe_id, refunds=[forged]))
    )

    _assert_refused(stored, rival, mentioning="re_business_a")
    a_refund.refresh_from_db()
    assert a_refund.status == Refund.Status.PENDING and a_refund.payment_intent == record
    assert not invoice.refunds.exists()


def _dispute(dispute_id, *, intent_id, status="lost"):
    return {
        "id": dispute_id,
        "object": "dispute",
        "amount": 25000,
        "currency": "usd",
        "charge": "ch_b",
        "payment_intent": intent_id,
        "reason": "fraudulent",
        "status": status,
        "created": int(time.time()) - 10,
    }


def test_dispute_id_of_another_account_is_refused(
    record, invoice, rival, rival_invoice, post_rival
):
    a_dispute = Dispute.objects.create(
        business=invoice.business,
        payment_intent=record,
        invoice=invoice,
        stripe_id="dp_business_a",
        amount=Decimal("250.00"),
        currency="USD",
        status="needs_response",
        status_at=timezone.now() - dt.timedelta(days=1),
    )
    b_intent = _intent(rival, rival_invoice, "pi_business_b")
    stored = post_rival(
        stripe_event(
            "charge.dispute.closed", _dispute(a_dispute.stripe_id, intent_id=b_intent.stripe_id)
        )
    )

    _assert_refused(stored, rival, mentioning="dp_business_a")
    a_dispute.refresh_from_db()
    assert a_dispute.status == "needs_response" and a_dispute.closed_at is None
    assert not PaymentAlert.objects.exists() and not invoice.refunds.exists()


def test_dispute_on_another_accounts_payment_is_refused(record, invoice, rival, post_rival):
    stored = post_rival(
        stripe_event("charge.dispute.created", _dispute("dp_new", intent_id=record.stripe_id))
    )

    _assert_refused(stored, rival, mentioning="pi_business_a")
    assert not Dispute.objects.exists()


def _agreement(connection, business, subscription_id):
    location = f.ServiceLocationFactory(customer__business=business)
    plan = MaintenancePlan.objects.create(
        business=business, name="Comfort Club", interval="yearly", price=Decimal("199.00")
    )
    return MaintenanceAgreement.objects.create(
        business=business,
        customer=location.customer,
        location=location,
        plan=plan,
        connection=connection,
        idempotency_key=f"thorbis:sub:{subscription_id}",
        stripe_subscription_id=subscription_id,
        status="active",
        status_at=timezone.now() - dt.timedelta(days=1),
    )


def test_subscription_of_another_account_is_refused(connection, business, rival, post_rival):
    agreement = _agreement(connection, business, "sub_business_a")
    subscription = {
        "id": agreement.stripe_subscription_id,
        "object": "subscription",
        "status": "canceled",
        "customer": "cus_b",
        "cancel_at_period_end": False,
        "created": int(time.time()) - 1000,
        "items": {"object": "list", "data": []},
        "metadata": {},
    }
    stored = post_rival(stripe_event("customer.subscription.deleted", subscription))

    _assert_refused(stored, rival, mentioning="sub_business_a")
    agreement.refresh_from_db()
    assert agreement.status == "active"


def test_subscription_invoice_of_another_agreement_is_refused(
    connection, business, other_business, rival, post_rival
):
    a_agreement = _agreement(connection, business, "sub_business_a")
    a_period = AgreementPeriod.objects.create(
        business=business,
        agreement=a_agreement,
        stripe_invoice_id="in_business_a",
        amount_due=Decimal("199.00"),
        currency="USD",
        status=AgreementPeriod.Status.FAILED,
    )
    _agreement(rival, other_business, "sub_business_b")
    now = int(time.time())
    invoice = {
        "id": a_period.stripe_invoice_id,
        "object": "invoice",
        "status": "paid",
        "currency": "usd",
        "amount_due": 19900,
        "amount_paid": 19900,
        "attempt_count": 2,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": "sub_business_b"},
        },
        "lines": {"object": "list", "data": [{"period": {"start": now, "end": now + 86400}}]},
        "status_transitions": {"paid_at": now},
    }
    stored = post_rival(stripe_event("invoice.paid", invoice))

    _assert_refused(stored, rival, mentioning="in_business_a")
    a_period.refresh_from_db()
    assert a_period.status == AgreementPeriod.Status.FAILED and a_period.paid_at is None


def _stripe_customer(connection, business, stripe_id):
    customer = f.CustomerFactory(business=business)
    return StripeCustomer.objects.create(
        business=business,
        connection=connection,
        customer=customer,
        stripe_id=stripe_id,
        idempotency_key=f"thorbis:cus:{stripe_id}",
    )


def test_setup_intent_naming_another_accounts_customer_is_refused(
    connection, business, rival, post_rival
):
    _stripe_customer(connection, business, "cus_business_a")
    setup = {
        "id": "seti_b",
        "object": "setup_intent",
        "status": "succeeded",
        "customer": "cus_business_a",
        "payment_method": "pm_b",
    }
    stored = post_rival(stripe_event("setup_intent.succeeded", setup))

    # Refused before any call to Stripe (B's fake account would not even answer).
    _assert_refused(stored, rival, mentioning="cus_business_a")
    assert not SavedPaymentMethod.objects.exists()


def test_detaching_another_accounts_payment_method_is_refused(
    connection, business, rival, post_rival
):
    link = _stripe_customer(connection, business, "cus_business_a")
    method = SavedPaymentMethod.objects.create(
        business=business,
        stripe_customer=link,
        customer=link.customer,
        stripe_id="pm_business_a",
        type="card",
        last4="4242",
    )
    pm = {"id": method.stripe_id, "object": "payment_method", "type": "card", "customer": None}
    stored = post_rival(stripe_event("payment_method.detached", pm))

    _assert_refused(stored, rival, mentioning="pm_business_a")
    method.refresh_from_db()
    assert method.detached_at is None


def test_platform_account_claimed_by_two_connections_routes_to_neither(
    connection, record, invoice, other_business, settings, post_event
):
    settings.PAYMENTS_STRIPE_PLATFORM_WEBHOOK_SECRETS = ["whsec_platform"]
    # B typed A's Connect account id into its own connection (the field is editable).
    make_connection(other_business, "http://127.0.0.1:9", external_account_id="acct_a")
    event = stripe_event("payment_intent.succeeded", intent_object(record), account="acct_a")
    response = post_event(None, event, secret="whsec_platform", path="/webhooks/stripe")

    assert response.status_code == 200
    stored = InboundEvent.objects.get(provider_event_id=event["id"])
    assert stored.status == InboundEvent.Status.REFUSED and "more than one" in stored.error
    assert stored.connection is None
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN and not Payment.objects.exists()


def test_connection_url_refuses_an_event_for_another_account(
    connection, record, invoice, post_event
):
    event = stripe_event("payment_intent.succeeded", intent_object(record), account="acct_b")
    assert post_event(connection, event).status_code == 200

    stored = InboundEvent.objects.get(provider_event_id=event["id"])
    assert stored.status == InboundEvent.Status.REFUSED and "acct_b" in stored.error
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN


def test_signed_non_utf8_body_is_400_and_no_log_line_carries_it(connection, client, capsys):
    body = b'{"id": "evt_x", "type": "payment_intent.succeeded", "note": "\xff\xfe SECRET-BODY"}'
    t = int(time.time())
    digest = hmac.new(b"whsec_test_current_0123456789", f"{t}.".encode() + body, hashlib.sha256)
    with structlog.testing.capture_logs() as logs:
        response = client.post(
            f"/webhooks/stripe/{connection.pk}",
            body,
            content_type="application/json",
            headers={"Stripe-Signature": f"t={t},v1={digest.hexdigest()}"},
        )

    assert response.status_code == 400 and "UTF-8" in response.json()["error"]
    assert not InboundEvent.objects.exists()
    assert "SECRET-BODY" not in repr(logs) + "".join(capsys.readouterr())
