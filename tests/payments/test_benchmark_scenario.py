"""The benchmark's scenario, small and in-process: shuffled, duplicated events through the real
view and inbox end with every invoice in its expected state (the command itself needs gunicorn
and a scratch PostgreSQL database, so it is run by hand; figures in docs/payments.md)."""

import random

from django.test import Client

from apps.payments.benchmark import scenario
from apps.payments.benchmark.runner import _verify
from apps.payments.models import StripePaymentIntent
from apps.payments.providers.stripe import webhook_signature_header
from apps.payments.webhooks.drain import drain_all


def test_shuffled_duplicated_events_end_in_the_expected_state(
    db, django_capture_on_commit_callbacks
):
    rng = random.Random(7)
    secret = "whsec_scenario"
    connection, planned = scenario.seed(invoices=30, webhook_secret=secret, rng=rng)
    planned, events = scenario.events_for(planned, limit=40)
    bodies, duplicates = scenario.deliveries(events, duplicate_share=0.10, rng=rng)
    client = Client()
    results = []
    for body in bodies:
        # Acceptance only: the drain below is the worker, in delivery order.
        response = client.post(
            f"/webhooks/stripe/{connection.pk}",
            data=body,
            content_type="application/json",
            HTTP_STRIPE_SIGNATURE=webhook_signature_header(payload=body, secret=secret),
        )
        results.append((response.status_code, 0.001, response.json().get("duplicate", False)))
    assert drain_all() == len(events)  # what the Celery drain task runs
    report = _verify(planned, events, results, duplicates, wall=1.0, drain=0.0)
    assert report["events"] >= 40 and report["duplicate_deliveries"] == duplicates > 0
    assert report["duplicates"] == 0  # nothing processed twice
    assert report["duplicates_answered_as_such"] == duplicates
    assert report["lost"] == 0 and report["processed_twice"] == 0
    assert report["wrong_final_state"] == 0
    stories = {p.story for p in planned}
    assert {"card", "ach_ok", "ach_failed", "card_refunded"} <= stories
    # The check looks at what each invoice has been paid (refunds included), not only statuses.
    refunded = next(p for p in planned if p.story == "card_refunded")
    assert (
        0
        < refunded.expected_amount_paid
        < StripePaymentIntent.objects.get(pk=refunded.intent_id).amount
    )
    refunded.expected_amount_paid += 1
    assert (
        _verify(planned, events, results, duplicates, wall=1.0, drain=0.0)["wrong_final_state"] == 1
    )
