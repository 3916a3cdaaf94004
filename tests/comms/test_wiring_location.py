"""Core's WorkOrderLocationChanged: the assigned technician is re-texted the new address once.

Everything runs through core's real services and events (Celery is eager), Twilio is the
loopback server the other comms tests use.
"""

import datetime as dt

import pytest

from apps.comms.models import ScheduledMessage
from apps.comms.services.outbox import due_messages_dispatch
from apps.comms.services.triggers import work_order_location_changed_plan
from apps.core.models import WorkOrder
from apps.core.services import work_orders as wos
from tests import factories as f

pytestmark = pytest.mark.django_db
TWO_HOURS = dt.timedelta(hours=2)


@pytest.fixture
def rental(location):
    return f.ServiceLocationFactory(
        customer=location.customer, label="Rental", address_line1="77 Elm St", postal_code="80206"
    )


def _wo(location, *, start):
    return wos.work_order_create(
        business=location.business,
        customer=location.customer,
        location=location,
        category=f.ServiceCategoryFactory(business=location.business),
        summary="No heat",
        arrival_window_start=start,
        arrival_window_end=start + TWO_HOURS,
    )


def _texts_to(twilio, phone):
    return [r["form"]["Body"] for r in twilio.messages() if r["form"]["To"] == phone]


def _redeliver(run_on_commit, wo, clock):
    return run_on_commit(
        work_order_location_changed_plan, work_order_id=wo.pk, occurred_at=clock.now.isoformat()
    )


def test_the_technician_is_re_texted_once_per_new_address(
    location, rental, technician, main_sender, twilio, clock, run_on_commit
):
    wo = run_on_commit(_wo, location, start=clock.now + dt.timedelta(hours=4))
    run_on_commit(wos.work_order_assign, work_order=wo, technician=technician, by=None)
    phone = str(technician.phone)
    [first] = _texts_to(twilio, phone)
    assert "1200 Pearl St" in first

    run_on_commit(wos.work_order_location_set, work_order=wo, location=rental)
    texts = _texts_to(twilio, phone)
    assert len(texts) == 2
    assert "77 Elm St" in texts[1] and "1200 Pearl St" not in texts[1]
    assert wo.number in texts[1] and "2:00 PM-4:00 PM" in texts[1]

    # Redelivered event, and the same location saved again: nothing more.
    assert _redeliver(run_on_commit, wo, clock) == []
    run_on_commit(wos.work_order_location_set, work_order=wo, location=rental)
    assert len(_texts_to(twilio, phone)) == 2
    assert ScheduledMessage.objects.filter(kind="technician_dispatch").count() == 2

    # Back to the first address: the technician was last told Elm St, so this is news again.
    run_on_commit(wos.work_order_location_set, work_order=wo, location=location)
    texts = _texts_to(twilio, phone)
    assert len(texts) == 3 and "1200 Pearl St" in texts[2]


def test_a_window_move_after_the_address_text_is_still_news(
    location, rental, technician, main_sender, twilio, clock, run_on_commit
):
    start = clock.now + dt.timedelta(hours=4)
    wo = run_on_commit(_wo, location, start=start)
    run_on_commit(wos.work_order_assign, work_order=wo, technician=technician, by=None)
    run_on_commit(wos.work_order_location_set, work_order=wo, location=rental)
    run_on_commit(
        wos.work_order_window_set,
        work_order=wo,
        arrival_window_start=start + TWO_HOURS,
        arrival_window_end=start + 2 * TWO_HOURS,
    )
    texts = _texts_to(twilio, str(technician.phone))
    assert len(texts) == 3
    assert "77 Elm St" in texts[2] and "4:00 PM-6:00 PM" in texts[2]
    # ...and a redelivered address event after it sends nothing: the last text has this address.
    assert _redeliver(run_on_commit, wo, clock) == []


def test_a_technician_en_route_hears_of_the_new_address(
    location, rental, technician, main_sender, twilio, clock, run_on_commit
):
    wo = run_on_commit(_wo, location, start=clock.now + dt.timedelta(hours=1))
    run_on_commit(wos.work_order_assign, work_order=wo, technician=technician, by=None)
    for status in ("scheduled", "dispatched", "en_route"):
        run_on_commit(wos.work_order_transition, work_order=wo, to_status=status, by=None)
    run_on_commit(wos.work_order_location_set, work_order=wo, location=rental)
    texts = _texts_to(twilio, str(technician.phone))
    assert len(texts) == 2 and "77 Elm St" in texts[1]


def test_a_dispatch_text_held_for_quiet_hours_carries_the_new_address(
    location, rental, technician, main_sender, twilio, clock, run_on_commit
):
    clock.set(dt.datetime(2026, 11, 19, 5, 0, tzinfo=dt.UTC))  # 10 pm in Denver
    wo = run_on_commit(_wo, location, start=dt.datetime(2026, 11, 19, 17, 0, tzinfo=dt.UTC))
    run_on_commit(wos.work_order_assign, work_order=wo, technician=technician, by=None)
    run_on_commit(wos.work_order_location_set, work_order=wo, location=rental)
    [held] = ScheduledMessage.objects.filter(kind="technician_dispatch")
    assert held.status == "pending" and held.reason == "held for quiet hours"
    assert held.context["location_id"] == rental.pk
    assert twilio.messages() == []
    clock.set(held.due_at)
    run_on_commit(due_messages_dispatch)
    [body] = _texts_to(twilio, str(technician.phone))
    assert "77 Elm St" in body


def test_an_unassigned_job_that_moves_texts_nobody(
    location, rental, main_sender, twilio, clock, run_on_commit
):
    wo = run_on_commit(_wo, location, start=clock.now + dt.timedelta(days=2))
    run_on_commit(wos.work_order_location_set, work_order=wo, location=rental)
    assert WorkOrder.objects.get(pk=wo.pk).location_id == rental.pk
    assert not ScheduledMessage.objects.exists()
    assert twilio.messages() == []


def test_a_finished_job_is_not_re_texted(
    location, rental, technician, main_sender, twilio, clock, run_on_commit
):
    wo = run_on_commit(_wo, location, start=clock.now + dt.timedelta(hours=1))
    run_on_commit(wos.work_order_assign, work_order=wo, technician=technician, by=None)
    # The event arrives late, after the job was finished (the service refuses a closed job, so
    # only a delayed delivery can meet one).
    WorkOrder.objects.filter(pk=wo.pk).update(status="completed", location=rental)
    assert _redeliver(run_on_commit, wo, clock) == []
    assert len(_texts_to(twilio, str(technician.phone))) == 1
