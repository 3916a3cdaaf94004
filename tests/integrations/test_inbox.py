import io

import pytest
from django.core.management import CommandError, call_command

from apps.integrations import inbox
from apps.integrations.models import InboundEvent


@pytest.fixture
def handled():
    seen = []

    def handler(event):
        if "boom" in event.body:
            raise ValueError("cannot apply this event")
        seen.append(event.provider_event_id)

    inbox.register_handler("acme-pay")(handler)
    yield seen
    inbox.unregister_handler("acme-pay")


def _receive(run_on_commit, event_id="evt_1", body='{"ok": true}', **kwargs):
    return run_on_commit(
        inbox.inbound_event_receive,
        provider="acme-pay",
        provider_event_id=event_id,
        body=body,
        headers={
            "Stripe-Signature": "t=1,v1=abc",
            "Authorization": "Bearer sk_live_x",
            "Cookie": "a=b",
        },
        **kwargs,
    )


def test_event_is_stored_then_processed_in_the_worker(business, handled, run_on_commit):
    event, created = _receive(run_on_commit, business_id=business.pk)
    event.refresh_from_db()
    assert created and handled == ["evt_1"]
    assert (
        event.status == InboundEvent.Status.PROCESSED and event.attempts == 1 and event.processed_at
    )
    assert event.headers == {
        "Stripe-Signature": "t=1,v1=abc"
    }  # credentials headers are never stored


def test_duplicate_delivery_is_absorbed(db, handled, run_on_commit):
    _receive(run_on_commit)
    _, created = _receive(run_on_commit)
    assert not created
    assert handled == ["evt_1"]  # processed once
    assert InboundEvent.objects.count() == 1


def test_failure_stays_on_the_row_and_replay_runs_it_again(db, handled, run_on_commit):
    event, _ = _receive(run_on_commit, body="boom")
    event.refresh_from_db()
    assert event.status == InboundEvent.Status.FAILED and "cannot apply this event" in event.error

    with pytest.raises(CommandError, match="still failing"):
        call_command("replay_inbound_events", stdout=io.StringIO())
    event.refresh_from_db()
    assert event.attempts == 2

    InboundEvent.objects.filter(pk=event.pk).update(
        body='{"fixed": true}'
    )  # e.g. a code fix deployed
    call_command("replay_inbound_events", "--provider", "acme-pay", stdout=io.StringIO())
    event.refresh_from_db()
    assert (
        event.status == InboundEvent.Status.PROCESSED and event.error == "" and event.attempts == 3
    )


def test_processing_twice_does_not_apply_twice(db, handled, run_on_commit):
    event, _ = _receive(run_on_commit)
    inbox.inbound_event_process(event_id=event.pk)
    inbox.inbound_event_replay(event=event)
    assert handled == ["evt_1"]


def test_event_without_handler_is_kept_as_ignored(db, run_on_commit):
    event, _ = run_on_commit(
        inbox.inbound_event_receive, provider="here", provider_event_id="e9", body="{}"
    )
    event.refresh_from_db()
    assert event.status == InboundEvent.Status.IGNORED


def test_handler_writes_roll_back_when_it_fails(business, run_on_commit):
    from tests import factories as f

    def handler(event):
        f.CustomerFactory(business=business, display_name="half-applied")
        raise RuntimeError("late failure")

    inbox.register_handler("acme-sms")(handler)
    try:
        run_on_commit(
            inbox.inbound_event_receive, provider="acme-sms", provider_event_id="SM1", body="{}"
        )
    finally:
        inbox.unregister_handler("acme-sms")
    from apps.core.models import Customer

    assert not Customer.objects.filter(display_name="half-applied").exists()
    assert InboundEvent.objects.get().status == InboundEvent.Status.FAILED


def test_replay_command_rejects_naive_since(db):
    with pytest.raises(CommandError, match="UTC offset"):
        call_command("replay_inbound_events", "--since", "2026-11-01T00:00:00")


def test_a_refused_event_rolls_back_is_counted_and_not_replayed(business, run_on_commit):
    from apps.integrations.errors import EventRefused
    from apps.integrations.models import IntegrationActivity, Outcome
    from tests import factories as f

    connection = f.IntegrationConnectionFactory(business=business, provider="stripe")

    def handler(event):
        f.CustomerFactory(business=business, display_name="half-applied")
        raise EventRefused("pi_x is not one of this connection's objects; refused.")

    inbox.register_handler("acme-pay")(handler)
    try:
        event, _ = run_on_commit(
            inbox.inbound_event_receive,
            provider="acme-pay",
            provider_event_id="evt_foreign",
            body="{}",
            event_type="payment.succeeded",
            connection=connection,
        )
        event.refresh_from_db()
        assert event.status == InboundEvent.Status.REFUSED and "pi_x" in event.error
        activity = IntegrationActivity.objects.get(connection=connection)
        assert activity.outcome == Outcome.REJECTED and "pi_x" in activity.error_message
        from apps.core.models import Customer

        assert not Customer.objects.filter(display_name="half-applied").exists()
        # The default replay (failed events) leaves refused ones alone.
        call_command("replay_inbound_events", stdout=io.StringIO())
        event.refresh_from_db()
        assert event.attempts == 1
    finally:
        inbox.unregister_handler("acme-pay")


def test_a_refusal_routed_to_a_connection_lands_on_that_connection(business, run_on_commit):
    from apps.integrations.errors import EventRefused
    from tests import factories as f

    connection = f.IntegrationConnectionFactory(business=business, provider="stripe")

    def handler(event):
        raise EventRefused("not this account's", connection=connection)

    inbox.register_handler("acme-pay")(handler)
    try:
        event, _ = run_on_commit(
            inbox.inbound_event_receive, provider="acme-pay", provider_event_id="e1", body="{}"
        )
    finally:
        inbox.unregister_handler("acme-pay")
    event.refresh_from_db()
    assert (event.connection, event.business_id) == (connection, business.pk)
