"""/webhooks/stripe: verified with the SDK, stored once, answered at once, processed in a worker."""

import json
import time

import pytest

from apps.integrations.models import IntegrationActivity, Outcome
from apps.integrations.models.inbox import InboundEvent
from apps.payments.models import StripePaymentIntent
from tests.payments.conftest import (
    OLD_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    make_connection,
    stripe_event,
    stripe_signature,
)


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
