"""The webhook's hot path: one statement per event, the browser middleware skipped, secrets
cached without delaying a rotation, and the coalesced drain nudge plus its periodic sweep."""

import json

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django_celery_beat.models import PeriodicTask

from apps.integrations.models import InboundEvent, IntegrationActivity, IntegrationConnection
from apps.payments.tasks import stripe_inbox_drain_task
from apps.payments.webhooks import nudge
from apps.payments.webhooks.drain import drain_all, pending_count
from tests.payments.conftest import (
    OLD_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    make_connection,
    stripe_event,
    stripe_signature,
)


@pytest.fixture
def connection(business):
    return make_connection(business, "http://127.0.0.1:9")


def _post(client, connection, event, secret=WEBHOOK_SECRET):
    body = json.dumps(event)
    return client.post(
        f"/webhooks/stripe/{connection.pk}",
        data=body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(body, secret),
    )


def _customer_event():
    return stripe_event("customer.created", {"id": "cus_1", "object": "customer"})


def test_one_statement_per_event_once_the_secrets_are_cached(connection, client):
    assert _post(client, connection, _customer_event()).status_code == 200  # fills the cache
    with CaptureQueriesContext(db) as queries:
        response = _post(client, connection, _customer_event())
        duplicate = _post(client, connection, json.loads(response.wsgi_request.body))
    assert response.json() == {"received": True, "duplicate": False}
    assert duplicate.json() == {"received": True, "duplicate": True}
    statements = [q["sql"] for q in queries.captured_queries]
    if db.vendor == "postgresql":
        assert len(statements) == 2, statements  # one per request: no SELECT, no savepoint
        assert all("ON CONFLICT" in sql and sql.startswith("WITH") for sql in statements)
    else:
        # SQLite has no data-modifying CTE: the event and its activity row are two inserts in
        # one transaction, still with no SELECT before them.
        inserts = [sql for sql in statements if sql.startswith("INSERT")]
        assert len(inserts) == 4, statements
        assert not any(sql.startswith("SELECT") for sql in statements), statements
    # Both deliveries counted for monitoring, by the same statement.
    assert IntegrationActivity.objects.filter(connection=connection, kind="webhook").count() == 3


def test_the_browser_middleware_is_skipped_for_webhooks_only(connection, client):
    response = _post(client, connection, _customer_event())
    assert response.status_code == 200
    # XFrameOptionsMiddleware (and everything after the shortcut) did not run.
    assert "X-Frame-Options" not in response.headers and not response.cookies
    assert response["Content-Length"] == str(len(response.content))
    assert "X-Frame-Options" in client.get("/admin/login/").headers
    # Not a POST, or not our URL: the normal stack answers.
    assert client.get(f"/webhooks/stripe/{connection.pk}").status_code == 405
    assert client.post("/webhooks/stripe/abc", data="{}", content_type="x").status_code == 404


def test_a_rotated_secret_works_at_once_despite_the_cache(connection, client):
    assert _post(client, connection, _customer_event()).status_code == 200  # cached
    # Changed behind this process's back (no signal): the cache still holds the old secret.
    fresh = IntegrationConnection.objects.get(pk=connection.pk)
    fresh.credentials = {**fresh.credentials, "webhook_secret": "whsec_rolled_new"}
    IntegrationConnection.objects.filter(pk=connection.pk).update(credentials=fresh.credentials)
    assert _post(client, connection, _customer_event(), "whsec_rolled_new").status_code == 200
    assert _post(client, connection, _customer_event(), OLD_WEBHOOK_SECRET).status_code == 400


def test_drain_processes_pending_events_and_leaves_failures_on_their_row(connection, client):
    events = [_customer_event() for _ in range(3)]
    broken = stripe_event("payment_intent.succeeded", {"id": "pi_x", "object": "payment_intent"})
    for event in [*events, broken]:  # on_commit never fires inside the test transaction
        assert _post(client, connection, event).status_code == 200
    assert pending_count() == 4
    assert drain_all() == 4
    assert pending_count() == 0
    statuses = dict(InboundEvent.objects.values_list("provider_event_id", "status"))
    assert statuses[broken["id"]] == InboundEvent.Status.FAILED
    assert {statuses[e["id"]] for e in events} == {InboundEvent.Status.PROCESSED}
    assert drain_all() == 0  # the failure is not retried in a loop (replay is explicit)


def test_nudges_are_coalesced_per_interval(settings, monkeypatch):
    settings.PAYMENTS_WEBHOOK_DRAIN_INTERVAL_S = 0.25
    published = []
    monkeypatch.setattr(
        stripe_inbox_drain_task, "apply_async", lambda **kw: published.append(kw["countdown"])
    )
    clock = [100.0]
    monkeypatch.setattr(nudge.time, "monotonic", lambda: clock[0])
    nudge.reset()
    for _ in range(50):  # a burst inside one window: one immediate drain, one trailing drain
        nudge.drain_nudge()
        clock[0] += 0.001
    assert published[0] is None and published[1] == pytest.approx(0.249)
    assert len(published) == 2
    clock[0] = 100.3  # the window closed: the next event gets an immediate drain again
    nudge.drain_nudge()
    assert published[2:] == [None]


def test_a_nudge_that_cannot_reach_the_broker_loses_nothing(
    connection, client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(**kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr(stripe_inbox_drain_task, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, connection, _customer_event())
    assert response.status_code == 200  # stored; Stripe is not asked to retry
    assert pending_count() == 1  # the sweep (below) will find it
    task = PeriodicTask.objects.get(name="payments:stripe-inbox-sweep")
    assert task.task == "apps.payments.tasks.stripe_inbox_drain_task" and task.enabled
    assert task.interval.every == 1 and task.interval.period == "minutes"
    assert task.queue == "urgent"
    monkeypatch.undo()
    stripe_inbox_drain_task.apply()  # what beat's sweep runs
    assert pending_count() == 0
