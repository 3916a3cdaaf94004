"""PaymentIntents through the real stripe SDK over HTTP against localstripe."""

from decimal import Decimal

import pytest
from django.db import connection as db

from apps.core.errors import DomainError
from apps.core.models import InvoiceStatus
from apps.integrations.errors import AuthenticationError, RejectedError, TemporaryError
from apps.integrations.models import ConnectionStatus, IntegrationActivity
from apps.payments.models import IntentStatus, StripeCustomer, StripePaymentIntent
from apps.payments.services.common import stripe_provider
from apps.payments.services.intents import (
    payment_intent_cancel,
    payment_intent_capture,
    payment_intent_create,
)
from tests import factories as f
from tests.loopback import Canned, LoopbackServer
from tests.payments.conftest import customer_side, make_connection


def test_creates_intent_with_client_secret_and_idempotency_key(
    stripe_connection, invoice, localstripe
):
    record = payment_intent_create(invoice=invoice)

    assert record.stripe_id.startswith("pi_")
    assert record.client_secret.startswith(record.stripe_id + "_secret_")
    assert record.amount == Decimal("250.00") and record.currency == "USD"
    assert record.status == IntentStatus.REQUIRES_PAYMENT_METHOD
    assert record.payment_method_types == ["card", "us_bank_account"]
    assert record.idempotency_key == f"thorbis:pi:{invoice.pk}:1:25000"
    remote = customer_side(localstripe).v1.payment_intents.retrieve(record.stripe_id)
    assert remote.amount == 25000 and remote.currency == "usd"
    assert remote.metadata["thorbis_invoice_id"] == str(invoice.pk)
    # A Stripe customer was created once and linked.
    link = StripeCustomer.objects.get(customer=invoice.customer)
    assert remote.customer == link.stripe_id
    # Every SDK call is counted for monitoring.
    ops = set(
        IntegrationActivity.objects.filter(connection=stripe_connection).values_list(
            "operation", flat=True
        )
    )
    assert {"POST customer", "POST payment_intent"} <= ops


def test_client_secret_is_encrypted_at_rest(stripe_connection, invoice):
    record = payment_intent_create(invoice=invoice)
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT secrets FROM payments_stripepaymentintent WHERE id = %s", [record.pk]
        )
        raw = cursor.fetchone()[0]
    assert record.client_secret and record.client_secret not in raw


def test_second_tap_reuses_the_open_intent(stripe_connection, invoice):
    first = payment_intent_create(invoice=invoice)
    again = payment_intent_create(invoice=invoice)
    assert again.pk == first.pk
    assert StripePaymentIntent.objects.filter(invoice=invoice).count() == 1


def test_partial_amount_and_refusals(stripe_connection, invoice):
    record = payment_intent_create(
        invoice=invoice, amount=Decimal("100.00"), payment_method_types=["card"]
    )
    assert record.amount == Decimal("100.00") and record.attempt == 1
    with pytest.raises(DomainError, match="more than what is left"):
        payment_intent_create(invoice=invoice, amount=Decimal("250.01"))
    with pytest.raises(DomainError, match="fractions of a cent"):
        payment_intent_create(invoice=invoice, amount=Decimal("1.001"))
    with pytest.raises(DomainError, match="deposits"):
        payment_intent_create(
            invoice=invoice, capture_method="manual", payment_method_types=["us_bank_account"]
        )
    invoice.status = InvoiceStatus.VOID
    invoice.save()
    with pytest.raises(DomainError, match="void invoice"):
        payment_intent_create(invoice=invoice)


def test_no_stripe_connection_is_a_clear_error(business, invoice):
    with pytest.raises(DomainError, match="connect a Stripe account"):
        payment_intent_create(invoice=invoice)


def test_manual_capture_for_deposits(stripe_connection, invoice, localstripe):
    record = payment_intent_create(
        invoice=invoice,
        amount=Decimal("100.00"),
        capture_method="manual",
        payment_method_types=["card"],
    )
    assert record.capture_method == "manual"
    sdk = customer_side(localstripe)
    sdk.v1.payment_intents.update(record.stripe_id, params={"payment_method": "pm_card_visa"})
    sdk.v1.payment_intents.confirm(record.stripe_id)
    record.refresh_from_db()
    record.status = (
        IntentStatus.REQUIRES_CAPTURE
    )  # as the amount_capturable_updated webhook sets it
    record.save()

    with pytest.raises(DomainError, match="at most the authorized"):
        payment_intent_capture(record=record, amount=Decimal("100.01"))
    captured = payment_intent_capture(record=record, amount=Decimal("80.00"))
    assert captured.status == IntentStatus.SUCCEEDED
    assert captured.amount_received == Decimal("80.00")
    # Fulfilment waits for the webhook: nothing is recorded on the invoice yet.
    assert captured.payment_id is None
    with pytest.raises(DomainError, match="Only an authorized payment"):
        payment_intent_capture(record=captured)


def test_cancel_an_unpaid_intent(stripe_connection, invoice):
    record = payment_intent_create(invoice=invoice)
    canceled = payment_intent_cancel(record=record)
    assert canceled.status == IntentStatus.CANCELED
    with pytest.raises(DomainError, match="cannot be canceled"):
        payment_intent_cancel(record=canceled)


def test_saved_card_is_charged_on_site(stripe_connection, invoice, localstripe):
    from apps.payments.services.customers import (
        saved_payment_methods_refresh,
        stripe_customer_ensure,
    )

    link = stripe_customer_ensure(connection=stripe_connection, customer=invoice.customer)
    sdk = customer_side(localstripe)
    pm = sdk.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    sdk.v1.payment_methods.attach(pm.id, params={"customer": link.stripe_id})
    saved = saved_payment_methods_refresh(customer=invoice.customer)
    assert [(m.stripe_id, m.last4) for m in saved] == [(pm.id, "4242")]

    record = payment_intent_create(
        invoice=invoice, saved_payment_method=saved[0], payment_method_types=["card"]
    )
    assert record.status == IntentStatus.SUCCEEDED
    assert record.payment_id is None  # recorded only when the webhook arrives


def test_declined_saved_card_is_rejected_and_stores_nothing(
    stripe_connection, invoice, localstripe
):
    from apps.payments.services.customers import (
        saved_payment_methods_refresh,
        stripe_customer_ensure,
    )

    link = stripe_customer_ensure(connection=stripe_connection, customer=invoice.customer)
    sdk = customer_side(localstripe)
    pm = sdk.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4000000000000341", "exp_month": 12, "exp_year": 2030, "cvc": "123"},
        }
    )
    sdk.v1.payment_methods.attach(pm.id, params={"customer": link.stripe_id})
    saved = saved_payment_methods_refresh(customer=invoice.customer)

    with pytest.raises(RejectedError, match="declined") as info:
        payment_intent_create(
            invoice=invoice, saved_payment_method=saved[0], payment_method_types=["card"]
        )
    assert info.value.status_code == 402
    assert not StripePaymentIntent.objects.filter(invoice=invoice).exists()


def test_another_customers_saved_method_is_refused(stripe_connection, invoice, business):
    from apps.payments.models import SavedPaymentMethod

    other = f.CustomerFactory(business=business)
    link = StripeCustomer.objects.create(
        business=business,
        connection=stripe_connection,
        customer=other,
        stripe_id="cus_x",
        idempotency_key="k1",
    )
    method = SavedPaymentMethod.objects.create(
        business=business, stripe_customer=link, customer=other, stripe_id="pm_other", type="card"
    )
    with pytest.raises(DomainError, match="not one of this customer's"):
        payment_intent_create(invoice=invoice, saved_payment_method=method)


def test_bad_api_key_maps_to_authentication_error(business, invoice, localstripe):
    connection = make_connection(business, localstripe.url, credentials={"secret_key": "pk_wrong"})
    with pytest.raises(AuthenticationError):
        payment_intent_create(invoice=invoice)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_RECONNECT
    assert "pk_wrong" not in connection.last_error


def test_unreachable_stripe_is_temporary(business, invoice):
    from tests.payments.fakes import free_port

    make_connection(business, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(TemporaryError, match="Could not reach Stripe"):
        payment_intent_create(invoice=invoice)
    assert not StripePaymentIntent.objects.exists()


def test_idempotency_key_travels_in_the_request_header(business, invoice):
    with LoopbackServer() as server:
        server.queue("/v1/customers", Canned(body={"id": "cus_loop", "object": "customer"}))
        server.queue(
            "/v1/payment_intents",
            Canned(
                body={
                    "id": "pi_loop",
                    "object": "payment_intent",
                    "amount": 25000,
                    "amount_received": 0,
                    "currency": "usd",
                    "status": "requires_payment_method",
                    "client_secret": "pi_loop_secret_x",
                    "capture_method": "automatic",
                    "payment_method_types": ["card"],
                    "created": 1700000000,
                    "metadata": {},
                }
            ),
        )
        make_connection(business, server.url)
        record = payment_intent_create(invoice=invoice, payment_method_types=["card"])
    posted = next(r for r in server.requests if r.path == "/v1/payment_intents")
    assert posted.headers["Idempotency-Key"] == record.idempotency_key
    customer_post = next(r for r in server.requests if r.path == "/v1/customers")
    assert customer_post.headers["Idempotency-Key"].startswith("thorbis:cus:")


def test_test_connection_reports_mode(stripe_connection):
    check = stripe_provider(stripe_connection).test_connection()
    assert check.ok and "test mode" in check.message


def test_same_second_conflict_is_settled_by_fetching_the_intent(
    stripe_connection, invoice, localstripe, post_event
):
    """Two webhooks stamped the same second disagree: Stripe's current state decides."""
    from tests.payments.conftest import intent_object, stripe_event

    record = payment_intent_create(invoice=invoice, payment_method_types=["card"])
    sdk = customer_side(localstripe)
    sdk.v1.payment_intents.update(record.stripe_id, params={"payment_method": "pm_card_visa"})
    sdk.v1.payment_intents.confirm(record.stripe_id)  # succeeded at Stripe
    t = int(record.status_at.timestamp()) + 5
    post_event(
        stripe_connection,
        stripe_event(
            "payment_intent.processing", intent_object(record, status="processing"), created=t
        ),
    )
    post_event(
        stripe_connection,
        stripe_event(
            "payment_intent.payment_failed",
            intent_object(record, status="requires_payment_method", failure="stale"),
            created=t,
        ),
    )
    record.refresh_from_db()
    invoice.refresh_from_db()
    assert record.status == IntentStatus.SUCCEEDED
    assert invoice.status == InvoiceStatus.PAID
    assert (
        IntegrationActivity.objects.filter(
            connection=stripe_connection, operation="GET payment_intent"
        ).count()
        == 1
    )


def test_setup_intent_succeeded_webhook_saves_the_card(
    stripe_connection, invoice, localstripe, post_event
):
    from apps.payments.models import SavedPaymentMethod
    from apps.payments.services.customers import stripe_customer_ensure
    from tests.payments.conftest import stripe_event

    link = stripe_customer_ensure(connection=stripe_connection, customer=invoice.customer)
    sdk = customer_side(localstripe)
    pm = sdk.v1.payment_methods.create(
        params={
            "type": "card",
            "card": {"number": "4242424242424242", "exp_month": 3, "exp_year": 2032, "cvc": "123"},
        }
    )
    sdk.v1.payment_methods.attach(pm.id, params={"customer": link.stripe_id})
    seti = {
        "id": "seti_1",
        "object": "setup_intent",
        "status": "succeeded",
        "customer": link.stripe_id,
        "payment_method": pm.id,
    }
    post_event(stripe_connection, stripe_event("setup_intent.succeeded", seti))
    saved = SavedPaymentMethod.objects.get(stripe_id=pm.id)
    assert (saved.customer, saved.last4, saved.exp_year) == (invoice.customer, "4242", 2032)

    detached = {"id": pm.id, "object": "payment_method", "type": "card", "card": {"last4": "4242"}}
    post_event(stripe_connection, stripe_event("payment_method.detached", detached))
    saved.refresh_from_db()
    assert saved.detached_at is not None


def test_refund_made_in_stripe_is_listed_when_the_charge_does_not_embed_it(
    stripe_connection, invoice, localstripe, post_event
):
    from apps.payments.models import Refund
    from tests.payments.conftest import stripe_event

    record = payment_intent_create(invoice=invoice, payment_method_types=["card"])
    sdk = customer_side(localstripe)
    sdk.v1.payment_intents.update(record.stripe_id, params={"payment_method": "pm_card_visa"})
    sdk.v1.payment_intents.confirm(record.stripe_id)
    StripePaymentIntent.objects.filter(pk=record.pk).update(
        status="succeeded", amount_received=record.amount
    )
    remote = sdk.v1.refunds.create(params={"payment_intent": record.stripe_id, "amount": 2500})
    # Current API versions send the charge without its refunds: we ask Stripe for them.
    charge = {
        "id": "ch_x",
        "object": "charge",
        "amount": 25000,
        "amount_refunded": 2500,
        "currency": "usd",
        "payment_intent": record.stripe_id,
    }
    post_event(stripe_connection, stripe_event("charge.refunded", charge))
    refund = Refund.objects.get()
    assert (refund.stripe_id, refund.amount, refund.note) == (
        remote.id,
        Decimal("25.00"),
        "Refunded in Stripe.",
    )
