"""Each Stripe event type, duplicates and out-of-order delivery, through the webhook and worker."""

import datetime as dt
import time
from decimal import Decimal

import pytest
from django.core import mail

from apps.core import events
from apps.core.models import InvoiceStatus, Payment, WorkOrder
from apps.core.timezones import format_local, zone_of
from apps.integrations.models.inbox import InboundEvent
from apps.payments.events import AgreementPaymentReceived, PaymentAlertRaised
from apps.payments.models import (
    AgreementPeriod,
    Dispute,
    IntentStatus,
    MaintenanceAgreement,
    MaintenancePlan,
    PaymentAlert,
    PaymentLink,
    Refund,
    StripePaymentIntent,
)
from apps.payments.services.intents import invoice_payment_state
from tests import factories as f
from tests.payments.conftest import intent_object, make_connection, stripe_event


@pytest.fixture
def connection(business):
    return make_connection(business, "http://127.0.0.1:9")


@pytest.fixture
def record(connection, invoice):
    """An intent as payment_intent_create leaves it (Stripe itself is exercised in test_intents)."""
    return StripePaymentIntent.objects.create(
        business=invoice.business,
        connection=connection,
        invoice=invoice,
        customer=invoice.customer,
        idempotency_key=f"thorbis:pi:{invoice.pk}:1:25000",
        stripe_id="pi_test_1",
        amount=invoice.balance_due,
        currency="USD",
        payment_method_types=["card", "us_bank_account"],
    )


@pytest.fixture
def seen():
    got = []
    kinds = (
        events.PaymentRecorded,
        events.RefundRecorded,
        AgreementPaymentReceived,
        PaymentAlertRaised,
    )
    for kind in kinds:
        events.subscribe(kind)(got.append)
    yield got
    for kind in kinds:
        events.unsubscribe(kind, got.append)


def _now() -> int:
    return int(time.time())


def test_succeeded_records_payment_pays_invoice_and_hands_off_to_accounting(
    connection, record, invoice, post_event, seen
):
    post_event(connection, stripe_event("payment_intent.succeeded", intent_object(record)))

    invoice.refresh_from_db()
    record.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and invoice.balance_due == 0
    assert invoice.work_order.status == "paid"
    payment = Payment.objects.get(invoice=invoice)
    assert payment.amount == Decimal("250.00") and payment.method == "card"
    assert payment.reference == "Stripe pi_test_1"
    assert record.payment == payment and record.status == IntentStatus.SUCCEEDED
    recorded = [e for e in seen if isinstance(e, events.PaymentRecorded)]
    assert [(e.payment_id, e.invoice_id) for e in recorded] == [(payment.pk, invoice.pk)]
    # Receipt by email, once.
    assert len(mail.outbox) == 1 and invoice.number in mail.outbox[0].subject
    assert invoice_payment_state(invoice) == "paid"


def test_duplicate_succeeded_event_records_once(connection, record, invoice, post_event):
    event = stripe_event("payment_intent.succeeded", intent_object(record))
    post_event(connection, event)
    post_event(connection, event)
    # A different event id about the same payment (Stripe retried after a lost ack) is also safe.
    post_event(connection, stripe_event("payment_intent.succeeded", intent_object(record)))
    assert Payment.objects.filter(invoice=invoice).count() == 1
    assert len(mail.outbox) == 1


def test_partial_payment_leaves_invoice_partially_paid(connection, record, invoice, post_event):
    obj = intent_object(record, amount=Decimal("100.00"))
    post_event(connection, stripe_event("payment_intent.succeeded", obj))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.OPEN and invoice.balance_due == Decimal("150.00")
    assert invoice_payment_state(invoice) == "partially_paid"


def test_ach_processing_then_settled(connection, record, invoice, post_event, seen):
    t0 = _now() - 3 * 86400
    post_event(
        connection,
        stripe_event(
            "payment_intent.processing",
            intent_object(record, status="processing", types=("us_bank_account",)),
            created=t0,
        ),
    )
    invoice.refresh_from_db()
    assert invoice_payment_state(invoice) == "processing"
    assert not Payment.objects.exists()  # money is not in until the debit settles
    post_event(
        connection,
        stripe_event(
            "payment_intent.succeeded",
            intent_object(record, types=("us_bank_account",)),
            created=t0 + 3 * 86400,
        ),
    )
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert Payment.objects.get(invoice=invoice).method == "ach"


def test_ach_failure_reopens_invoice_and_alerts_dispatcher(
    connection, record, invoice, post_event, seen, dispatcher
):
    t0 = _now() - 86400
    post_event(
        connection,
        stripe_event(
            "payment_intent.processing", intent_object(record, status="processing"), created=t0
        ),
    )
    failed = intent_object(
        record,
        status="requires_payment_method",
        failure="The customer's bank account has insufficient funds.",
    )
    post_event(
        connection, stripe_event("payment_intent.payment_failed", failed, created=t0 + 4 * 86400)
    )
    invoice.refresh_from_db()
    assert invoice_payment_state(invoice) == "open" and invoice.balance_due == Decimal("250.00")
    alert = PaymentAlert.objects.get(kind=PaymentAlert.Kind.ACH_RETURNED)
    assert invoice.number in alert.message and "insufficient funds" in alert.message
    assert alert.business == invoice.business
    assert any(isinstance(e, PaymentAlertRaised) and e.alert_id == alert.pk for e in seen)
    # The dispatcher is told by email (comms may text them as well from PaymentAlertRaised).
    assert [m.to for m in mail.outbox if invoice.number in m.subject] == [[dispatcher.email]]
    assert "insufficient funds" in mail.outbox[-1].body
    # The customer may now pay another way.
    record.refresh_from_db()
    assert record.status == IntentStatus.REQUIRES_PAYMENT_METHOD


def test_card_failure_alerts(connection, record, post_event):
    post_event(
        connection,
        stripe_event(
            "payment_intent.payment_failed",
            intent_object(
                record, status="requires_payment_method", failure="Your card was declined."
            ),
        ),
    )
    assert PaymentAlert.objects.get().kind == PaymentAlert.Kind.PAYMENT_FAILED


def test_out_of_order_older_processing_after_succeeded_is_ignored(
    connection, record, invoice, post_event
):
    t0 = _now() - 600
    post_event(
        connection,
        stripe_event("payment_intent.succeeded", intent_object(record), created=t0 + 300),
    )
    post_event(
        connection,
        stripe_event(
            "payment_intent.processing", intent_object(record, status="processing"), created=t0
        ),
    )
    post_event(
        connection,
        stripe_event(
            "payment_intent.payment_failed",
            intent_object(record, status="requires_payment_method", failure="x"),
            created=t0 + 100,
        ),
    )
    record.refresh_from_db()
    invoice.refresh_from_db()
    assert record.status == IntentStatus.SUCCEEDED and invoice.status == InvoiceStatus.PAID
    assert Payment.objects.count() == 1 and not PaymentAlert.objects.exists()


def test_out_of_order_stale_failure_does_not_undo_processing(
    connection, record, invoice, post_event
):
    t0 = _now() - 600
    post_event(
        connection,
        stripe_event(
            "payment_intent.processing",
            intent_object(record, status="processing"),
            created=t0 + 100,
        ),
    )
    post_event(
        connection,
        stripe_event(
            "payment_intent.payment_failed",
            intent_object(record, status="requires_payment_method", failure="old card decline"),
            created=t0,
        ),
    )
    record.refresh_from_db()
    assert record.status == IntentStatus.PROCESSING
    assert not PaymentAlert.objects.exists()


def test_intent_unknown_to_us_is_ignored(connection, post_event):
    response = post_event(
        connection,
        stripe_event(
            "payment_intent.succeeded",
            intent_object(None, id="pi_elsewhere", amount=Decimal("10.00"), metadata={}),
        ),
    )
    assert response.status_code == 200
    assert not StripePaymentIntent.objects.exists()
    assert InboundEvent.objects.get().status == InboundEvent.Status.PROCESSED


def test_event_cannot_reach_another_business_invoice(
    connection, other_business, make_invoice, post_event
):
    foreign = make_invoice(other_business)
    obj = intent_object(
        None,
        id="pi_cross",
        amount=Decimal("250.00"),
        metadata={"thorbis_invoice_id": str(foreign.pk)},
    )
    post_event(connection, stripe_event("payment_intent.succeeded", obj))
    foreign.refresh_from_db()
    assert foreign.status == InvoiceStatus.OPEN and not Payment.objects.exists()
    assert not StripePaymentIntent.objects.exists()


def test_overpayment_records_balance_and_alerts(connection, record, invoice, post_event):
    other = StripePaymentIntent.objects.create(
        business=invoice.business,
        connection=connection,
        invoice=invoice,
        customer=invoice.customer,
        attempt=2,
        idempotency_key="k2",
        stripe_id="pi_test_2",
        amount=invoice.balance_due,
        currency="USD",
    )
    post_event(connection, stripe_event("payment_intent.succeeded", intent_object(record)))
    post_event(connection, stripe_event("payment_intent.succeeded", intent_object(other)))
    other.refresh_from_db()
    assert other.payment is None and other.unapplied_amount == Decimal("250.00")
    assert Payment.objects.count() == 1
    assert PaymentAlert.objects.get().kind in (
        PaymentAlert.Kind.OVERPAYMENT,
        PaymentAlert.Kind.UNAPPLIED,
    )


def test_capturable_then_captured(connection, record, invoice, post_event):
    t0 = _now() - 600
    post_event(
        connection,
        stripe_event(
            "payment_intent.amount_capturable_updated",
            intent_object(record, status="requires_capture", capture_method="manual"),
            created=t0,
        ),
    )
    record.refresh_from_db()
    assert record.status == IntentStatus.REQUIRES_CAPTURE and not Payment.objects.exists()
    post_event(
        connection,
        stripe_event(
            "payment_intent.succeeded",
            intent_object(record, capture_method="manual", amount_received=8000),
            created=t0 + 60,
        ),
    )
    assert Payment.objects.get().amount == Decimal("80.00")


def _charge(record, *, refunds, amount_refunded):
    return {
        "id": "ch_test_1",
        "object": "charge",
        "amount": 25000,
        "currency": "usd",
        "payment_intent": record.stripe_id,
        "amount_refunded": amount_refunded,
        "refunds": {"object": "list", "data": refunds},
    }


def test_charge_refunded_records_dashboard_refund_and_publishes(
    connection, record, post_event, seen
):
    post_event(connection, stripe_event("payment_intent.succeeded", intent_object(record)))
    refund = {
        "id": "re_dash",
        "object": "refund",
        "amount": 5000,
        "currency": "usd",
        "status": "succeeded",
        "charge": "ch_test_1",
        "payment_intent": record.stripe_id,
        "metadata": {},
    }
    event = stripe_event("charge.refunded", _charge(record, refunds=[refund], amount_refunded=5000))
    post_event(connection, event)
    post_event(connection, event)
    stored = Refund.objects.get()
    assert (
        stored.amount == Decimal("50.00")
        and stored.stripe_id == "re_dash"
        and stored.status == "succeeded"
    )
    refunded = [e for e in seen if isinstance(e, events.RefundRecorded)]
    assert len(refunded) == 1 and refunded[0].amount == Decimal("50.00")
    record.refresh_from_db()
    assert record.refundable_amount == Decimal("200.00")
    # The invoice was paid in full; the refund lowers what it has been paid and reopens it.
    invoice = record.invoice
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("200.00") and invoice.balance_due == Decimal("50.00")
    assert invoice.status == InvoiceStatus.OPEN
    core_refund = invoice.refunds.get()
    assert core_refund.reference == "re_dash" and refunded[0].refund_id == core_refund.pk


def test_dispute_created_then_closed(connection, record, invoice, post_event):
    post_event(connection, stripe_event("payment_intent.succeeded", intent_object(record)))
    due = _now() + 7 * 86400
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": 25000,
        "currency": "usd",
        "charge": "ch_test_1",
        "payment_intent": record.stripe_id,
        "reason": "fraudulent",
        "status": "needs_response",
        "evidence_details": {"due_by": due},
        "created": _now() - 10,
    }
    post_event(connection, stripe_event("charge.dispute.created", dispute, created=_now() - 10))
    stored = Dispute.objects.get()
    assert (
        stored.invoice == invoice
        and stored.amount == Decimal("250.00")
        and stored.reason == "fraudulent"
    )
    assert stored.evidence_due_by == dt.datetime.fromtimestamp(due, tz=dt.UTC)
    opened = PaymentAlert.objects.get(kind=PaymentAlert.Kind.DISPUTE_OPENED)
    assert "Respond by" in opened.message and invoice.number in opened.message
    # In the business's clock (this webhook is processed where the active zone is UTC).
    local_due = format_local(stored.evidence_due_by, zone=zone_of(invoice.business))
    assert f"Respond by {local_due}." in opened.message and local_due.endswith(("MST", "MDT"))
    post_event(connection, stripe_event("charge.dispute.closed", {**dispute, "status": "lost"}))
    stored.refresh_from_db()
    assert stored.status == "lost" and stored.closed_at is not None
    assert PaymentAlert.objects.filter(kind=PaymentAlert.Kind.DISPUTE_CLOSED).count() == 1
    # Lost: the money was withdrawn, so the invoice's paid amount falls by it (once).
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("0.00") and invoice.status == InvoiceStatus.OPEN
    withdrawn = invoice.refunds.get()
    assert (withdrawn.amount, withdrawn.reason, withdrawn.reference) == (
        Decimal("250.00"),
        "dispute lost",
        "dp_1",
    )
    post_event(connection, stripe_event("charge.dispute.closed", {**dispute, "status": "lost"}))
    # A stale "updated" after the close changes nothing.
    post_event(connection, stripe_event("charge.dispute.updated", dispute, created=_now() - 5))
    stored.refresh_from_db()
    assert stored.status == "lost" and invoice.refunds.count() == 1


def test_dispute_won_leaves_the_invoice_paid(connection, record, invoice, post_event):
    post_event(connection, stripe_event("payment_intent.succeeded", intent_object(record)))
    dispute = {
        "id": "dp_2",
        "object": "dispute",
        "amount": 25000,
        "currency": "usd",
        "charge": "ch_test_1",
        "payment_intent": record.stripe_id,
        "reason": "fraudulent",
        "status": "won",
        "created": _now() - 10,
    }
    post_event(connection, stripe_event("charge.dispute.closed", dispute))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID and not invoice.refunds.exists()


def test_refund_of_an_overpayment_returns_the_unapplied_money_first(
    connection, record, invoice, post_event, seen
):
    # 300.00 collected for a 250.00 invoice: 250.00 applied, 50.00 kept as unapplied.
    post_event(
        connection,
        stripe_event("payment_intent.succeeded", intent_object(record, amount_received=30000)),
    )
    record.refresh_from_db()
    assert record.unapplied_amount == Decimal("50.00")

    def refund(refund_id, cents):
        return {
            "id": refund_id,
            "object": "refund",
            "amount": cents,
            "currency": "usd",
            "status": "succeeded",
            "payment_intent": record.stripe_id,
            "metadata": {},
        }

    first = [refund("re_over", 5000)]
    post_event(
        connection,
        stripe_event("charge.refunded", _charge(record, refunds=first, amount_refunded=5000)),
    )
    invoice.refresh_from_db()
    # The excess went back: the invoice is still paid in full.
    assert invoice.status == InvoiceStatus.PAID and not invoice.refunds.exists()
    both = [*first, refund("re_part", 3000)]
    post_event(
        connection,
        stripe_event("charge.refunded", _charge(record, refunds=both, amount_refunded=8000)),
    )
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("220.00") and invoice.status == InvoiceStatus.OPEN
    assert [e.amount for e in seen if isinstance(e, events.RefundRecorded)] == [Decimal("30.00")]


def test_refund_delivered_before_its_payment_still_lowers_the_invoice(
    connection, record, invoice, post_event
):
    refund = {
        "id": "re_early",
        "object": "refund",
        "amount": 10000,
        "currency": "usd",
        "status": "succeeded",
        "payment_intent": record.stripe_id,
        "metadata": {},
    }
    charge = _charge(record, refunds=[refund], amount_refunded=10000)
    post_event(connection, stripe_event("charge.refunded", charge, created=_now()))
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("0.00") and not invoice.refunds.exists()
    post_event(
        connection,
        stripe_event("payment_intent.succeeded", intent_object(record), created=_now() - 60),
    )
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("150.00") and invoice.status == InvoiceStatus.OPEN
    assert invoice.refunds.get().reference == "re_early"


def test_pending_refund_lowers_the_invoice_only_when_it_succeeds(
    connection, record, invoice, post_event
):
    post_event(connection, stripe_event("payment_intent.succeeded", intent_object(record)))
    pending = {
        "id": "re_ach",
        "object": "refund",
        "amount": 25000,
        "currency": "usd",
        "status": "pending",
        "payment_intent": record.stripe_id,
        "metadata": {},
    }
    charge = _charge(record, refunds=[pending], amount_refunded=25000)
    post_event(connection, stripe_event("charge.refunded", charge))
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    done = _charge(record, refunds=[{**pending, "status": "succeeded"}], amount_refunded=25000)
    post_event(connection, stripe_event("charge.refund.updated", done))
    invoice.refresh_from_db()
    assert invoice.amount_paid == Decimal("0.00") and invoice.status == InvoiceStatus.OPEN


@pytest.fixture
def agreement(connection, business):
    category = f.ServiceCategoryFactory(business=business)
    location = f.ServiceLocationFactory(customer__business=business)
    plan = MaintenancePlan.objects.create(
        business=business,
        name="Comfort Club",
        interval="yearly",
        price=Decimal("199.00"),
        visits_per_period=2,
        category=category,
    )
    return MaintenanceAgreement.objects.create(
        business=business,
        customer=location.customer,
        location=location,
        plan=plan,
        connection=connection,
        idempotency_key="thorbis:sub:1",
        stripe_subscription_id="sub_test_1",
        status="incomplete",
    )


def _subscription(status, **extra):
    now = _now()
    return {
        "id": "sub_test_1",
        "object": "subscription",
        "status": status,
        "customer": "cus_1",
        "cancel_at_period_end": False,
        "created": now - 1000,
        "items": {
            "object": "list",
            "data": [
                {
                    "id": "si_1",
                    "price": {"id": "price_1"},
                    "current_period_start": now - 100,
                    "current_period_end": now + 365 * 86400,
                }
            ],
        },
        "metadata": {"thorbis_agreement_id": "1"},
        **extra,
    }


def _stripe_invoice(status, *, attempt=1, paid=True, next_attempt=None, invoice_id="in_1"):
    now = _now()
    return {
        "id": invoice_id,
        "object": "invoice",
        "status": status,
        "currency": "usd",
        "amount_due": 19900,
        "amount_paid": 19900 if paid else 0,
        "attempt_count": attempt,
        "next_payment_attempt": next_attempt,
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": "sub_test_1"},
        },
        "lines": {
            "object": "list",
            "data": [{"period": {"start": now - 100, "end": now + 365 * 86400}}],
        },
        "status_transitions": {"paid_at": now if paid else None},
    }


def test_subscription_through_dunning(connection, agreement, post_event, seen):
    t = _now() - 10_000
    post_event(
        connection,
        stripe_event("customer.subscription.created", _subscription("incomplete"), created=t),
    )
    post_event(
        connection,
        stripe_event("invoice.payment_succeeded", _stripe_invoice("paid"), created=t + 10),
    )
    post_event(
        connection,
        stripe_event("customer.subscription.updated", _subscription("active"), created=t + 11),
    )
    agreement.refresh_from_db()
    assert agreement.status == "active" and agreement.current_period_end is not None
    period = AgreementPeriod.objects.get(stripe_invoice_id="in_1")
    assert period.status == "paid" and period.amount_paid == Decimal("199.00")
    # The paid period created the plan's two maintenance visits, once.
    assert period.work_orders.count() == 2
    assert (
        WorkOrder.objects.filter(
            customer=agreement.customer, summary__startswith="Comfort Club"
        ).count()
        == 2
    )
    assert [e.amount for e in seen if isinstance(e, AgreementPaymentReceived)] == [
        Decimal("199.00")
    ]

    # Renewal fails: past_due while Smart Retries try again, the dispatcher hears of each failure.
    retry_at = _now() + 3 * 86400
    post_event(
        connection,
        stripe_event(
            "invoice.payment_failed",
            _stripe_invoice(
                "open", attempt=1, paid=False, next_attempt=retry_at, invoice_id="in_2"
            ),
            created=t + 100,
        ),
    )
    post_event(
        connection,
        stripe_event("customer.subscription.updated", _subscription("past_due"), created=t + 101),
    )
    post_event(
        connection,
        stripe_event(
            "invoice.payment_failed",
            _stripe_invoice(
                "open", attempt=2, paid=False, next_attempt=retry_at + 86400, invoice_id="in_2"
            ),
            created=t + 200,
        ),
    )
    agreement.refresh_from_db()
    renewal = AgreementPeriod.objects.get(stripe_invoice_id="in_2")
    assert agreement.status == "past_due"
    assert renewal.status == "failed" and renewal.attempt_count == 2
    assert PaymentAlert.objects.filter(kind=PaymentAlert.Kind.AGREEMENT_PAYMENT_FAILED).count() == 2
    # Retries exhausted: Stripe cancels; the agreement ends and stays ended.
    post_event(
        connection,
        stripe_event(
            "customer.subscription.deleted",
            _subscription("canceled", canceled_at=_now()),
            created=t + 300,
        ),
    )
    post_event(
        connection,
        stripe_event("customer.subscription.updated", _subscription("active"), created=t + 301),
    )
    agreement.refresh_from_db()
    assert agreement.status == "canceled"
    assert PaymentAlert.objects.filter(kind=PaymentAlert.Kind.AGREEMENT_ENDED).count() == 1


def test_subscription_recovers_on_retry_and_late_failure_notice_is_harmless(
    connection, agreement, post_event
):
    t = _now() - 10_000
    post_event(
        connection,
        stripe_event(
            "invoice.payment_failed",
            _stripe_invoice("open", paid=False, invoice_id="in_3"),
            created=t,
        ),
    )
    post_event(
        connection,
        stripe_event(
            "invoice.paid", _stripe_invoice("paid", attempt=2, invoice_id="in_3"), created=t + 50
        ),
    )
    post_event(
        connection,
        stripe_event(
            "invoice.payment_failed",
            _stripe_invoice("open", paid=False, invoice_id="in_3"),
            created=t + 1,
        ),
    )
    period = AgreementPeriod.objects.get(stripe_invoice_id="in_3")
    assert period.status == "paid" and period.work_orders.count() == 2


def test_subscription_out_of_order_keeps_newest(connection, agreement, post_event):
    t = _now() - 10_000
    post_event(
        connection,
        stripe_event("customer.subscription.updated", _subscription("active"), created=t + 10),
    )
    post_event(
        connection,
        stripe_event("customer.subscription.created", _subscription("incomplete"), created=t),
    )
    agreement.refresh_from_db()
    assert agreement.status == "active"


def test_checkout_session_completed_pays_through_the_link(connection, invoice, post_event, seen):
    link = PaymentLink.objects.create(
        business=invoice.business,
        connection=connection,
        invoice=invoice,
        idempotency_key="thorbis:plink:1:1",
        stripe_id="plink_1",
        url="https://buy.stripe.com/test_1",
        amount=invoice.balance_due,
        currency="USD",
    )
    session = {
        "id": "cs_1",
        "object": "checkout.session",
        "status": "complete",
        "payment_status": "paid",
        "payment_intent": "pi_link_1",
        "payment_link": "plink_1",
        "amount_total": 25000,
        "currency": "usd",
        "metadata": {"thorbis_invoice_id": str(invoice.pk)},
    }
    post_event(connection, stripe_event("checkout.session.completed", session))
    # Stripe also sends payment_intent.succeeded for the same payment: recorded once.
    post_event(
        connection,
        stripe_event(
            "payment_intent.succeeded",
            intent_object(
                None,
                id="pi_link_1",
                amount=Decimal("250.00"),
                metadata={"thorbis_invoice_id": str(invoice.pk), "thorbis_link_id": str(link.pk)},
            ),
        ),
    )
    invoice.refresh_from_db()
    link.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    assert Payment.objects.count() == 1
    assert link.completed_at is not None
    assert StripePaymentIntent.objects.get().source == StripePaymentIntent.Source.PAYMENT_LINK


def test_checkout_with_bank_debit_waits_in_processing(connection, invoice, post_event):
    session = {
        "id": "cs_2",
        "object": "checkout.session",
        "status": "complete",
        "payment_status": "unpaid",
        "payment_intent": "pi_link_2",
        "payment_link": "",
        "amount_total": 25000,
        "currency": "usd",
        "metadata": {"thorbis_invoice_id": str(invoice.pk)},
    }
    post_event(connection, stripe_event("checkout.session.completed", session))
    invoice.refresh_from_db()
    assert invoice_payment_state(invoice) == "processing" and not Payment.objects.exists()
