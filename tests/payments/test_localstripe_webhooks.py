"""End to end: localstripe itself signs and delivers the webhook to our running server."""

import time

import pytest
import requests

from apps.core.models import InvoiceStatus, Payment
from apps.integrations.models.inbox import InboundEvent
from apps.payments.services.intents import payment_intent_create
from tests.payments.conftest import WEBHOOK_SECRET, customer_side


@pytest.fixture
def deliver_to(localstripe):
    hook_id = f"test{time.time_ns()}"

    def register(url: str, events: list[str]):
        data = [("url", url), ("secret", WEBHOOK_SECRET)] + [("events[]", e) for e in events]
        requests.post(
            f"{localstripe.url}/_config/webhooks/{hook_id}",
            data=data,
            auth=("sk_test_x1", ""),
            timeout=5,
        ).raise_for_status()

    yield register
    # localstripe has no "delete": point the hook at an event type that never fires.
    register("http://127.0.0.1:9/unused", ["never.fired"])


@pytest.mark.django_db(transaction=True)
def test_card_payment_confirmed_at_stripe_is_recorded_from_its_webhook(
    live_server, stripe_connection, invoice, localstripe, deliver_to
):
    deliver_to(
        f"{live_server.url}/webhooks/stripe/{stripe_connection.pk}", ["payment_intent.succeeded"]
    )
    record = payment_intent_create(invoice=invoice, payment_method_types=["card"])
    sdk = customer_side(localstripe)  # the Payment Element, on the technician's phone
    sdk.v1.payment_intents.update(record.stripe_id, params={"payment_method": "pm_card_visa"})
    sdk.v1.payment_intents.confirm(record.stripe_id)

    deadline = time.monotonic() + 20  # localstripe waits 1 s before delivering
    while time.monotonic() < deadline and not Payment.objects.filter(invoice=invoice).exists():
        time.sleep(0.2)
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    event = InboundEvent.objects.get(provider="stripe", event_type="payment_intent.succeeded")
    assert event.status == InboundEvent.Status.PROCESSED and event.connection == stripe_connection
    assert Payment.objects.get(invoice=invoice).reference == f"Stripe {record.stripe_id}"
