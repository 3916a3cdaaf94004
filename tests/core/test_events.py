"""Domain event delivery: after commit only, each subscriber once, one failure isolated."""

import dataclasses
import logging

import pytest
from django.db import transaction

from apps.core import events
from tests import factories as f

# on_commit needs a database connection, and the test transaction stands in for the request's.
pytestmark = pytest.mark.django_db


@dataclasses.dataclass(frozen=True)
class Ping:
    """An event type of the tests' own, so no real subscriber is involved."""

    n: int = 0


@dataclasses.dataclass(frozen=True)
class Pong:
    n: int = 0


@pytest.fixture
def subscribe():
    """events.subscribe, undone after the test so registrations do not leak between tests."""
    registered = []

    def register(event_type, handler):
        registered.append((event_type, handler))
        return events.subscribe(event_type)(handler)

    yield register
    for event_type, handler in registered:
        events.unsubscribe(event_type, handler)


def test_failing_subscriber_does_not_stop_the_others(
    subscribe, caplog, django_capture_on_commit_callbacks
):
    received = []

    def broken(event):
        raise RuntimeError("SMS gateway down")

    subscribe(Ping, broken)
    subscribe(Ping, received.append)

    with (
        caplog.at_level(logging.ERROR, logger="apps.core.events"),
        django_capture_on_commit_callbacks(execute=True),  # delivery must not raise
    ):
        events.publish_on_commit(Ping(1))

    assert received == [Ping(1)]
    [record] = [r for r in caplog.records if r.name == "apps.core.events"]
    logged = record.msg
    assert logged["event"] == "event_subscriber_failed"
    assert logged["event_type"] == "Ping"
    assert logged["handler"].endswith("broken")
    assert "SMS gateway down" in logged["exception"]


def test_subscribe_is_idempotent(subscribe, django_capture_on_commit_callbacks):
    received = []
    assert subscribe(Ping, received.append) == received.append  # usable as a decorator
    subscribe(Ping, received.append)

    with django_capture_on_commit_callbacks(execute=True):
        events.publish_on_commit(Ping(1))

    assert received == [Ping(1)]


def test_delivery_waits_for_commit(subscribe, django_capture_on_commit_callbacks):
    received = []
    subscribe(Ping, received.append)

    with django_capture_on_commit_callbacks(execute=True):
        events.publish_on_commit(Ping(1))
        assert received == []

    assert received == [Ping(1)]


def test_rolled_back_event_is_never_delivered(subscribe, django_capture_on_commit_callbacks):
    received = []
    subscribe(Ping, received.append)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ZeroDivisionError), transaction.atomic():
            events.publish_on_commit(Ping(1))
            1 / 0  # noqa: B018
        events.publish_on_commit(Ping(2))

    assert len(callbacks) == 1
    assert received == [Ping(2)]


def test_subscribers_only_get_their_event_type(subscribe, django_capture_on_commit_callbacks):
    pings, pongs = [], []
    subscribe(Ping, pings.append)
    subscribe(Pong, pongs.append)

    with django_capture_on_commit_callbacks(execute=True):
        events.publish_on_commit(Ping(1))
        events.publish_on_commit(Pong(2))
        events.publish_on_commit(Ping(3))

    assert pings == [Ping(1), Ping(3)]
    assert pongs == [Pong(2)]


def test_unsubscribe_stops_delivery_and_ignores_unknown_handlers(
    django_capture_on_commit_callbacks,
):
    received = []
    events.subscribe(Ping)(received.append)
    events.unsubscribe(Ping, received.append)
    events.unsubscribe(Ping, received.append)  # a second time is harmless

    with django_capture_on_commit_callbacks(execute=True):
        events.publish_on_commit(Ping(1))

    assert received == []


def test_suppressed_publishes_nothing_and_restores_afterwards(
    business, captured_events, django_capture_on_commit_callbacks
):
    from apps.core.services.work_orders import work_order_create

    location = f.ServiceLocationFactory(customer__business=business)
    category = f.ServiceCategoryFactory(business=business)
    kwargs = {
        "business": business,
        "customer": location.customer,
        "location": location,
        "category": category,
    }
    with django_capture_on_commit_callbacks(execute=True), events.suppressed():
        work_order_create(summary="backfilled", **kwargs)
    assert captured_events == []
    with django_capture_on_commit_callbacks(execute=True):
        work_order_create(summary="live", **kwargs)
    assert [type(e).__name__ for e in captured_events] == ["WorkOrderCreated"]
