"""Core's WorkOrderWindowChanged: the confirmation is re-planned, the technician re-texted once.

Everything runs through core's real services and events (Celery is eager), Twilio is the
loopback server the other comms tests use.
"""

import datetime as dt

import pytest

from apps.comms.models import ScheduledMessage
from apps.comms.services.outbox import due_messages_dispatch
from apps.comms.services.triggers import work_order_window_changed_plan
from apps.core.services import work_orders as wos
from tests import factories as f

pytestmark = pytest.mark.django_db
TWO_HOURS = dt.timedelta(hours=2)


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


def _move(run_on_commit, wo, start):
    run_on_commit(
        wos.work_order_window_set,
        work_order=wo,
        arrival_window_start=start,
        arrival_window_end=start + TWO_HOURS,
    )


def _confirmations():
    return ScheduledMessage.objects.filter(kind="appointment_confirmation", channel="sms")


def _texts_to(twilio, phone):
    return [r["form"]["Body"] for r in twilio.messages() if r["form"]["To"] == phone]


def test_a_moved_window_moves_the_confirmation_once(
    location, main_sender, twilio, clock, run_on_commit
):
    start = clock.now + dt.timedelta(days=3)
    wo = run_on_commit(_wo, location, start=start)
    run_on_commit(wos.work_order_transition, work_order=wo, to_status="scheduled", by=None)
    later = start + dt.timedelta(days=1)
    _move(run_on_commit, wo, later)
    assert sorted(_confirmations().values_list("status", flat=True)) == ["cancelled", "pending"]
    assert _confirmations().get(status="pending").due_at == later - dt.timedelta(hours=24)

    # The same window saved again publishes nothing; a redelivered event plans nothing new.
    _move(run_on_commit, wo, later)
    run_on_commit(
        work_order_window_changed_plan, work_order_id=wo.pk, occurred_at=clock.now.isoformat()
    )
    assert _confirmations().count() == 2
    assert _confirmations().filter(status="pending").count() == 1

    clock.set(start - dt.timedelta(hours=24))  # the old time: nothing
    run_on_commit(due_messages_dispatch)
    assert twilio.messages() == []
    clock.set(later - dt.timedelta(hours=24))
    run_on_commit(due_messages_dispatch)
    run_on_commit(due_messages_dispatch)
    [body] = _texts_to(twilio, "+13035550123")
    assert "Sun Nov 22" in body  # the new day (Denver), not the old one (Sat Nov 21)


def test_a_window_moved_back_gets_its_confirmation_back(
    location, main_sender, twilio, clock, run_on_commit
):
    start = clock.now + dt.timedelta(days=3)
    wo = run_on_commit(_wo, location, start=start)
    run_on_commit(wos.work_order_transition, work_order=wo, to_status="scheduled", by=None)
    _move(run_on_commit, wo, start + dt.timedelta(days=1))
    _move(run_on_commit, wo, start)
    pending = _confirmations().filter(status="pending")
    assert pending.count() == 1
    assert pending.get().due_at == start - dt.timedelta(hours=24)


def test_a_cleared_window_cancels_the_confirmation(location, main_sender, clock, run_on_commit):
    start = clock.now + dt.timedelta(days=3)
    wo = run_on_commit(_wo, location, start=start)
    run_on_commit(wos.work_order_transition, work_order=wo, to_status="scheduled", by=None)
    run_on_commit(
        wos.work_order_window_set,
        work_order=wo,
        arrival_window_start=None,
        arrival_window_end=None,
        allow_clear=True,
    )
    assert list(_confirmations().values_list("status", flat=True)) == ["cancelled"]


def test_the_technician_is_re_texted_once_per_new_window(
    location, technician, main_sender, twilio, clock, run_on_commit
):
    start = clock.now + dt.timedelta(hours=4)  # 2:00 PM Denver
    wo = run_on_commit(_wo, location, start=start)
    run_on_commit(wos.work_order_assign, work_order=wo, technician=technician, by=None)
    phone = str(technician.phone)
    assert len(_texts_to(twilio, phone)) == 1

    _move(run_on_commit, wo, start + TWO_HOURS)
    texts = _texts_to(twilio, phone)
    assert len(texts) == 2
    assert "4:00 PM-6:00 PM" in texts[1] and wo.number in texts[1]
    dispatch = ScheduledMessage.objects.filter(kind="technician_dispatch").order_by("pk").last()
    assert "20261118T2300-20261119T0100" in dispatch.dedupe_key  # the new window, in UTC

    # Redelivered event, and a save without a change: nothing more.
    run_on_commit(
        work_order_window_changed_plan, work_order_id=wo.pk, occurred_at=clock.now.isoformat()
    )
    _move(run_on_commit, wo, start + TWO_HOURS)
    assert len(_texts_to(twilio, phone)) == 2

    # Back to the first window: the technician was last told 4-6, so this is news again.
    _move(run_on_commit, wo, start)
    texts = _texts_to(twilio, phone)
    assert len(texts) == 3 and "2:00 PM-4:00 PM" in texts[2]


def test_a_dispatch_text_held_for_quiet_hours_carries_the_new_window(
    location, technician, main_sender, twilio, clock, run_on_commit
):
    clock.set(dt.datetime(2026, 11, 19, 5, 0, tzinfo=dt.UTC))  # 10 pm in Denver
    start = dt.datetime(2026, 11, 19, 17, 0, tzinfo=dt.UTC)  # 10 am
    wo = run_on_commit(_wo, location, start=start)
    run_on_commit(wos.work_order_assign, work_order=wo, technician=technician, by=None)
    _move(run_on_commit, wo, start + TWO_HOURS)
    [held] = ScheduledMessage.objects.filter(kind="technician_dispatch")
    assert held.status == "pending" and held.reason == "held for quiet hours"
    assert twilio.messages() == []
    clock.set(held.due_at)
    run_on_commit(due_messages_dispatch)
    [body] = _texts_to(twilio, str(technician.phone))
    assert "12:00 PM-2:00 PM" in body


def test_a_window_change_on_an_unassigned_new_job_texts_nobody(
    location, main_sender, twilio, clock, run_on_commit
):
    wo = run_on_commit(_wo, location, start=clock.now + dt.timedelta(days=2))
    _move(run_on_commit, wo, clock.now + dt.timedelta(days=3))
    assert not ScheduledMessage.objects.exists()
    assert twilio.messages() == []
