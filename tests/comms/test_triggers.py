"""Each trigger from issue 4 and its timing, through the real work-order services and events."""

import datetime as dt
from decimal import Decimal
from urllib.parse import parse_qs

import pytest

from apps.comms.models import CommunicationLog, ScheduledMessage
from apps.comms.services.outbox import due_messages_dispatch
from apps.comms.services.triggers import payment_reminders_plan
from apps.core.models import Invoice
from apps.core.services import work_orders as wos
from tests import factories as f

pytestmark = pytest.mark.django_db


def _wo(location, technician=None, *, start, priority="normal"):
    return wos.work_order_create(
        business=location.business,
        customer=location.customer,
        location=location,
        category=f.ServiceCategoryFactory(business=location.business),
        summary="No heat",
        priority=priority,
        arrival_window_start=start,
        arrival_window_end=start + dt.timedelta(hours=2),
        assigned_technician=technician,
    )


def _sent_bodies(twilio):
    return [(r["form"]["To"], r["form"]["Body"], r["form"]) for r in twilio.messages()]


def test_confirmation_is_planned_24h_before_the_window_and_sent_then(
    location, main_sender, twilio, clock, run_on_commit
):
    start = clock.now + dt.timedelta(days=3)
    wo = run_on_commit(_wo, location, start=start)
    run_on_commit(wos.work_order_transition, work_order=wo, to_status="scheduled", by=None)
    planned = ScheduledMessage.objects.get(kind="appointment_confirmation", channel="sms")
    assert planned.due_at == start - dt.timedelta(hours=24)
    assert planned.status == "pending"
    run_on_commit(due_messages_dispatch)
    assert twilio.messages() == []  # not yet due

    clock.set(start - dt.timedelta(hours=24))
    run_on_commit(due_messages_dispatch)
    planned.refresh_from_db()
    assert planned.status == "sent"
    [(to, body, _form)] = _sent_bodies(twilio)
    assert to == "+13035550123"
    assert "Reply C to confirm" in body
    assert "Sat Nov 21" in body  # the window, in the location's zone (Denver)
    # Running the dispatcher again sends nothing twice.
    run_on_commit(due_messages_dispatch)
    assert len(twilio.messages()) == 1


def test_moved_window_replans_the_confirmation(location, main_sender, twilio, clock, run_on_commit):
    start = clock.now + dt.timedelta(days=3)
    wo = run_on_commit(_wo, location, start=start)
    run_on_commit(wos.work_order_transition, work_order=wo, to_status="scheduled", by=None)
    later = start + dt.timedelta(days=2)
    # Core's WorkOrderWindowChanged re-plans it at once (no dispatcher poll any more).
    run_on_commit(
        wos.work_order_window_set,
        work_order=wo,
        arrival_window_start=later,
        arrival_window_end=later + dt.timedelta(hours=2),
    )
    rows = ScheduledMessage.objects.filter(kind="appointment_confirmation", channel="sms")
    assert sorted(rows.values_list("status", flat=True)) == ["cancelled", "pending"]
    assert rows.get(status="pending").due_at == later - dt.timedelta(hours=24)
    clock.set(start - dt.timedelta(hours=24))  # the old plan's time: nothing goes
    run_on_commit(due_messages_dispatch)
    assert twilio.messages() == []


def test_cancelling_the_job_cancels_its_pending_texts(
    location, main_sender, twilio, clock, run_on_commit
):
    wo = run_on_commit(_wo, location, start=clock.now + dt.timedelta(days=3))
    run_on_commit(wos.work_order_transition, work_order=wo, to_status="scheduled", by=None)
    run_on_commit(wos.work_order_transition, work_order=wo, to_status="cancelled", by=None)
    assert set(ScheduledMessage.objects.values_list("status", flat=True)) == {"cancelled"}
    clock.set(clock.now + dt.timedelta(days=3))
    run_on_commit(due_messages_dispatch)
    assert twilio.messages() == []


def test_en_route_goes_at_once_with_eta_tracking_link_and_short_validity(
    location, technician, main_sender, twilio, clock, run_on_commit, business
):
    from apps.comms.models import CommsSettings

    CommsSettings.objects.create(
        business=business, tracking_url="https://t.example/{work_order_number}"
    )
    wo = run_on_commit(_wo, location, technician, start=clock.now + dt.timedelta(hours=1))
    for status in ("dispatched", "en_route"):
        run_on_commit(wos.work_order_transition, work_order=wo, to_status=status, by=None)
    [(_to, body, form)] = _sent_bodies(twilio)
    assert "on the way" in body and "min" in body
    assert f"https://t.example/{wo.number}" in body
    assert form["ValidityPeriod"] == "900"
    assert form["StatusCallback"] == "http://127.0.0.1:8000/webhooks/twilio/status"
    log = CommunicationLog.objects.get(template_kind="en_route")
    assert (log.segments, log.encoding, log.work_order_id) == (1, "GSM-7", wo.pk)
    assert log.cost == Decimal("0.0079")


def test_eta_provider_hook_is_used(
    location, technician, main_sender, twilio, clock, run_on_commit, settings
):
    settings.COMMS_ETA_PROVIDER = "tests.comms.test_triggers.eta_17"
    wo = run_on_commit(_wo, location, technician, start=clock.now + dt.timedelta(hours=1))
    for status in ("dispatched", "en_route"):
        run_on_commit(wos.work_order_transition, work_order=wo, to_status=status, by=None)
    assert "about 17 min" in _sent_bodies(twilio)[0][1]


def eta_17(work_order):
    return 17


def test_service_complete_carries_invoice_total_and_survey(
    location, technician, main_sender, twilio, clock, run_on_commit, business
):
    from apps.comms.models import CommsSettings

    CommsSettings.objects.create(
        business=business, survey_url="https://s.example/{work_order_number}"
    )
    wo = run_on_commit(_wo, location, technician, start=clock.now + dt.timedelta(hours=1))
    f.LineItemFactory(work_order=wo, business=business, unit_price=Decimal("249.50"), taxable=False)
    for status in ("dispatched", "en_route", "on_site"):
        run_on_commit(wos.work_order_transition, work_order=wo, to_status=status, by=None)
    twilio.requests.clear()
    run_on_commit(wos.work_order_transition, work_order=wo, to_status="completed", by=None)
    [(_to, body, _f)] = _sent_bodies(twilio)
    assert "$249.50" in body
    assert f"https://s.example/{wo.number}" in body


def test_emergency_texts_within_the_same_request_even_at_night(
    location, technician, main_sender, emergency_sender, twilio, clock, run_on_commit
):
    clock.set(dt.datetime(2026, 11, 18, 9, 30, tzinfo=dt.UTC))  # 2:30 am in Denver
    wo = run_on_commit(
        _wo, location, technician, start=clock.now + dt.timedelta(minutes=45), priority="emergency"
    )
    sends = [r for r in twilio.messages() if "emergency" in r["form"]["Body"]]
    assert len(sends) == 1
    form = sends[0]["form"]
    assert form["From"] == "+13035550199"  # the emergency line
    assert form["ValidityPeriod"] == "120"
    assert technician.user.get_full_name() in form["Body"]
    assert "ETA" in form["Body"]
    assert ScheduledMessage.objects.get(kind="emergency_response").work_order_id == wo.pk


def test_non_urgent_text_waits_for_the_window_in_the_recipients_zone(
    business, main_sender, twilio, clock, run_on_commit, technician
):
    customer = f.CustomerFactory(business=business, sms_opt_in=True, phone="+12125550123")
    location = f.ServiceLocationFactory(
        customer=customer, business=business, timezone="America/New_York"
    )
    # 06:30 in New York (04:30 in Denver): before the 8 am window opens there.
    clock.set(dt.datetime(2026, 11, 18, 11, 30, tzinfo=dt.UTC))
    wo = run_on_commit(_wo, location, technician, start=clock.now + dt.timedelta(hours=3))
    for status in ("dispatched",):
        run_on_commit(wos.work_order_transition, work_order=wo, to_status=status, by=None)
    f.LineItemFactory(work_order=wo, business=business)
    for status in ("en_route", "on_site", "completed"):
        run_on_commit(wos.work_order_transition, work_order=wo, to_status=status, by=None)
    complete = ScheduledMessage.objects.get(kind="service_complete", channel="sms")
    assert complete.status == "pending"
    assert complete.due_at == dt.datetime(2026, 11, 18, 13, 0, tzinfo=dt.UTC)  # 8:00 New York
    clock.set(complete.due_at)
    run_on_commit(due_messages_dispatch)
    complete.refresh_from_db()
    assert complete.status == "sent"


def test_technician_dispatch_goes_to_the_technicians_phone(
    location, technician, main_sender, twilio, clock, run_on_commit
):
    wo = run_on_commit(_wo, location, start=clock.now + dt.timedelta(hours=4))
    run_on_commit(wos.work_order_assign, work_order=wo, technician=technician, by=None)
    [(to, body, _f)] = _sent_bodies(twilio)
    assert to == str(technician.phone)
    assert wo.number in body and "1200 Pearl St" in body


def test_at_most_two_payment_reminders(
    business, customer, location, main_sender, twilio, clock, run_on_commit
):
    invoice = Invoice.objects.create(
        business=business,
        customer=customer,
        number="INV-1",
        status="open",
        due_date=dt.date(2026, 11, 1),
        subtotal=Decimal("120.00"),
        total=Decimal("120.00"),
    )
    for days in (0, 1, 8, 16, 30):
        clock.set(dt.datetime(2026, 11, 18, 17, 0, tzinfo=dt.UTC) + dt.timedelta(days=days))
        run_on_commit(payment_reminders_plan)
    bodies = [b for _to, b, _f in _sent_bodies(twilio)]
    assert len(bodies) == 2
    assert "INV-1" in bodies[0] and "$120.00" in bodies[0]
    assert ScheduledMessage.objects.filter(invoice=invoice, channel="sms").count() == 2


def test_paid_invoice_gets_no_reminder(
    business, customer, location, main_sender, twilio, clock, run_on_commit
):
    Invoice.objects.create(
        business=business,
        customer=customer,
        number="INV-2",
        status="paid",
        due_date=dt.date(2026, 11, 1),
        subtotal=Decimal("120.00"),
        total=Decimal("120.00"),
        amount_paid=Decimal("120.00"),
    )
    run_on_commit(payment_reminders_plan)
    assert twilio.messages() == []


def test_redelivered_event_does_not_send_twice(
    location, technician, main_sender, twilio, clock, run_on_commit
):
    from apps.comms.services.triggers import emergency_plan

    wo = run_on_commit(_wo, location, technician, start=clock.now, priority="emergency")
    run_on_commit(emergency_plan, work_order_id=wo.pk)
    assert len([r for r in twilio.messages() if "emergency" in r["form"]["Body"]]) == 1
    assert parse_qs("a=1")  # sanity for the import


def test_dispatcher_hands_a_backlog_over_once_and_recovers_lost_tasks(business, clock, monkeypatch):
    from apps.comms import tasks

    handed = []
    monkeypatch.setattr(tasks.scheduled_message_send_task, "delay", handed.append)
    msg = ScheduledMessage.objects.create(
        business=business, kind="en_route", audience="customer", dedupe_key="b1", due_at=clock.now
    )
    assert due_messages_dispatch() == 1
    assert due_messages_dispatch() == 0  # the next tick leaves it with the worker
    clock.set(clock.now + dt.timedelta(minutes=6))  # the worker died with it
    assert due_messages_dispatch() == 1
    assert handed == [msg.pk, msg.pk]
