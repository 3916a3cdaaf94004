"""/webhooks/stripe: verified with the SDK, stored once, answered at once, processed in a worker."""

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest

from apps.core.models import InvoiceStatus, Payment
from apps.integrations.models import IntegrationActivity, Outcome
from apps.integrations.models.inbox import InboundEvent
from apps.payments.models import IntentStatus, StripePaymentIntent
from tests.payments.conftest import (
    OLD_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    intent_object,
    make_connection,
    stripe_event,
    stripe_signature,
)
from tests.webhooks import WebhookContract


@pytest.fixture
def connection(business):
    # Signature checks never call Stripe, so no fake server is needed here.
    return make_connection(business, "http://127.0.0.1:9")


def test_valid_event_is_stored_and_processed(connection, post_event):
    event = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    response = post_event(connection, event)
    assert response.status_code == 200
    assert response.json() == {"received": True, "duplicate": False}
    stored = InboundEvent.objects.get(provider="stripe", provider_event_id=event["id"])
    assert stored.connection == connection and stored.business_id == connection.business_id
    assert stored.event_type == "customer.created"
    assert json.loads(stored.body) == event
    assert stored.status == InboundEvent.Status.PROCESSED
    assert (
        IntegrationActivity.objects.filter(
            connection=connection, kind="webhook", outcome=Outcome.SUCCESS
        ).count()
        == 1
    )


def test_duplicate_delivery_is_stored_and_processed_once(connection, post_event):
    event = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    assert post_event(connection, event).json()["duplicate"] is False
    again = post_event(connection, event)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    stored = InboundEvent.objects.get(provider_event_id=event["id"])
    assert stored.attempts == 1


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda body, sig: (body, sig.replace("v1=", "v1=00")), "does not match"),
        (lambda body, sig: (body.replace("cus_1", "cus_2"), sig), "does not match"),
        (lambda body, sig: (body, ""), "missing"),
        (lambda body, sig: (body, "garbage"), "does not match"),
    ],
)
def test_bad_signature_is_400_and_stores_nothing(connection, client, mutate, message):
    body = json.dumps(stripe_event("customer.created", {"id": "cus_1", "object": "customer"}))
    body, sig = mutate(body, stripe_signature(body, WEBHOOK_SECRET))
    extra = {"HTTP_STRIPE_SIGNATURE": sig} if sig else {}
    response = client.post(
        f"/webhooks/stripe/{connection.pk}", data=body, content_type="application/json", **extra
    )
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not InboundEvent.objects.exists()
    assert (
        IntegrationActivity.objects.filter(connection=connection, outcome=Outcome.REJECTED).count()
        == 1
    )


def test_expired_signature_is_refused_as_a_replay(connection, post_event):
    event = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    response = post_event(connection, event, timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    assert "too old" in response.json()["error"]
    assert not InboundEvent.objects.exists()
    # Inside the 300 s tolerance it is accepted.
    assert post_event(connection, event, timestamp=int(time.time()) - 290).status_code == 200


def test_secret_rotation_accepts_current_and_previous(connection, post_event):
    connection.credentials = {
        **connection.credentials,
        "webhook_secret_previous": OLD_WEBHOOK_SECRET,
    }
    connection.save()
    old = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    new = stripe_event("customer.created", {"id": "cus_2", "object": "customer"})
    assert post_event(connection, old, secret=OLD_WEBHOOK_SECRET).status_code == 200
    assert post_event(connection, new, secret=WEBHOOK_SECRET).status_code == 200
    # Once the rotation is over the old secret stops working.
    connection.credentials = {
        k: v for k, v in connection.credentials.items() if k != "webhook_secret_previous"
    }
    connection.save()
    late = stripe_event("customer.created", {"id": "cus_3", "object": "customer"})
    assert post_event(connection, late, secret=OLD_WEBHOOK_SECRET).status_code == 400
    assert InboundEvent.objects.count() == 2


def test_another_connections_secret_does_not_verify(connection, other_business, post_event):
    other = make_connection(
        other_business,
        "http://127.0.0.1:9",
        credentials={"secret_key": "sk_test_x", "webhook_secret": "whsec_other_business"},
    )
    event = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    assert post_event(other, event, secret=WEBHOOK_SECRET).status_code == 400
    assert post_event(connection, event, secret="whsec_other_business").status_code == 400
    assert not InboundEvent.objects.exists()


def test_unknown_connection_looks_like_a_bad_signature(connection, post_event):
    event = stripe_event("customer.created", {"id": "cus_1", "object": "customer"})
    response = post_event(connection, event, path="/webhooks/stripe/999999")
    assert response.status_code == 400
    assert not InboundEvent.objects.exists()


def test_signed_body_that_is_not_an_event_is_400(connection, client):
    body = json.dumps({"hello": "world"})
    response = client.post(
        f"/webhooks/stripe/{connection.pk}",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(body, WEBHOOK_SECRET),
    )
    assert response.status_code == 400
    assert "not a Stripe event" in response.json()["error"]
    assert not InboundEvent.objects.exists()


def test_get_is_not_allowed(connection, client):
    assert client.get(f"/webhooks/stripe/{connection.pk}").status_code == 405


def test_platform_endpoint_routes_by_account(business, settings, post_event):
    settings.PAYMENTS_STRIPE_PLATFORM_WEBHOOK_SECRETS = "whsec_platform_new,whsec_platform_old"
    connection = make_connection(business, "http://127.0.0.1:9", external_account_id="acct_123")
    event = stripe_event(
        "customer.created", {"id": "cus_1", "object": "customer"}, account="acct_123"
    )
    response = post_event(connection, event, secret="whsec_platform_old", path="/webhooks/stripe")
    assert response.status_code == 200
    stored = InboundEvent.objects.get(provider_event_id=event["id"])
    assert stored.connection == connection and stored.status == InboundEvent.Status.PROCESSED
    # The connection's own secret is not the platform's.
    other = stripe_event(
        "customer.created", {"id": "cus_2", "object": "customer"}, account="acct_123"
    )
    assert post_event(connection, other, path="/webhooks/stripe").status_code == 400


def test_unroutable_event_fails_on_the_row_and_replays_once_connected(
    business, settings, post_event
):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    settings.PAYMENTS_STRIPE_PLATFORM_WEBHOOK_SECRETS = ["whsec_platform_new"]
    event = stripe_event(
        "customer.created", {"id": "cus_1", "object": "customer"}, account="acct_later"
    )
    assert (
        post_event(None, event, secret="whsec_platform_new", path="/webhooks/stripe").status_code
        == 200
    )
    stored = InboundEvent.objects.get(provider_event_id=event["id"])
    assert stored.status == InboundEvent.Status.FAILED and "acct_later" in stored.error
    with pytest.raises(CommandError):
        call_command("replay_inbound_events", "--provider", "stripe")
    connection = make_connection(business, "http://127.0.0.1:9", external_account_id="acct_later")
    call_command("replay_inbound_events", "--provider", "stripe")
    stored.refresh_from_db()
    assert stored.status == InboundEvent.Status.PROCESSED and stored.connection == connection


def test_handler_failure_stays_on_the_row_and_rolls_back(connection, post_event, invoice):
    # A payment_intent event whose object lacks its status: parsing fails in the worker.
    event = stripe_event(
        "payment_intent.succeeded",
        {
            "id": "pi_broken",
            "object": "payment_intent",
            "currency": "usd",
            "metadata": {"thorbis_invoice_id": str(invoice.pk)},
        },
    )
    assert post_event(connection, event).status_code == 200  # accepted: the inbox keeps it
    stored = InboundEvent.objects.get(provider_event_id=event["id"])
    assert stored.status == InboundEvent.Status.FAILED
    assert "missing 'status'" in stored.error
    assert not StripePaymentIntent.objects.filter(stripe_id="pi_broken").exists()


# --- the shared webhook contract (tests/webhooks.py) ---------------------------------------------
RIVAL_SECRET = "whsec_rival_business_0001"
PLATFORM_SECRET = "whsec_platform_current_0001"


class _StripeContract(WebhookContract):
    signs_timestamp = True

    @pytest.fixture(autouse=True)
    def _arrange(self, business, other_business, make_invoice):
        self.connection = make_connection(
            business, "http://127.0.0.1:9", external_account_id="acct_tenant_a"
        )
        self.rival = make_connection(
            other_business,
            "http://127.0.0.1:9",
            external_account_id="acct_tenant_b",
            credentials={"secret_key": "sk_test_rival", "webhook_secret": RIVAL_SECRET},
        )
        self.invoice = make_invoice(business)
        self.rival_invoice = make_invoice(other_business)
        self.record = StripePaymentIntent.objects.create(
            business=business,
            connection=self.connection,
            invoice=self.invoice,
            customer=self.invoice.customer,
            idempotency_key=f"thorbis:pi:{self.invoice.pk}:1:25000",
            stripe_id="pi_tenant_a",
            amount=self.invoice.balance_due,
            currency="USD",
            payment_method_types=["card"],
        )

    account = "acct_tenant_a"

    def sign(self, body, *, key, path, content_type, timestamp):
        t = int(time.time()) if timestamp is None else timestamp
        digest = hmac.new(key.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        return {"Stripe-Signature": f"t={t},v1={digest}"}

    def _event(self, kind, obj, *, created=None, account=None):
        return stripe_event(kind, obj, created=created, account=account)

    def event(self, name):
        now = int(time.time())
        if name == "older":
            obj = intent_object(self.record, status="processing")
            return self._event("payment_intent.processing", obj, created=now - 300)
        return self._event("payment_intent.succeeded", intent_object(self.record), created=now)

    def state(self):
        self.record.refresh_from_db()
        self.invoice.refresh_from_db()
        return (
            self.record.status,
            self.invoice.status,
            self.invoice.amount_paid,
            Payment.objects.filter(invoice=self.invoice).count(),
        )

    def applied(self):
        return Payment.objects.filter(invoice=self.invoice).count()

    def after_out_of_order(self):
        return (IntentStatus.SUCCEEDED, InvoiceStatus.PAID, Decimal("250.00"), 1)

    def _forged(self, **envelope):
        # B's event names A's PaymentIntent, for one of B's own invoices.
        obj = intent_object(
            self.record, metadata={"thorbis_invoice_id": str(self.rival_invoice.pk)}
        )
        return stripe_event("payment_intent.succeeded", obj, **envelope)

    def refusal_recorded(self):
        self.rival_invoice.refresh_from_db()
        return (
            InboundEvent.objects.filter(
                connection=self.rival, status=InboundEvent.Status.REFUSED
            ).exists()
            and IntegrationActivity.objects.filter(
                connection=self.rival, outcome=Outcome.REJECTED
            ).exists()
            and self.rival_invoice.status == InvoiceStatus.OPEN
            and not StripePaymentIntent.objects.filter(connection=self.rival).exists()
        )


class TestStripeConnectionWebhook(_StripeContract):
    key, other_key = WEBHOOK_SECRET, RIVAL_SECRET

    @pytest.fixture(autouse=True)
    def _path(self, _arrange):
        self.path = f"/webhooks/stripe/{self.connection.pk}"

    def wrong_tenant(self):
        body = json.dumps(self._forged()).encode()
        return self.post(
            body, "application/json", key=RIVAL_SECRET, path=f"/webhooks/stripe/{self.rival.pk}"
        )


class TestStripePlatformWebhook(_StripeContract):
    """A Connect platform's endpoint: one secret, events routed by their `account`."""

    path = "/webhooks/stripe"
    key, other_key = PLATFORM_SECRET, "whsec_not_the_platforms"

    @pytest.fixture(autouse=True)
    def _platform(self, settings):
        settings.PAYMENTS_STRIPE_PLATFORM_WEBHOOK_SECRETS = [PLATFORM_SECRET]

    def _event(self, kind, obj, *, created=None, account=None):
        return stripe_event(kind, obj, created=created, account=account or "acct_tenant_a")

    def wrong_tenant(self):
        # Routed to B by its account; B's worker must not reach A's PaymentIntent.
        return self.deliver(self._forged(account="acct_tenant_b"))
