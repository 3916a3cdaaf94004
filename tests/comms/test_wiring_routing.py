"""Routing's events: one route text per technician and a visit update per customer when a plan is
applied, "running late" when a technician's ETA leaves the promised window.

The first tests plan and apply a real day through routing's services (PyVRP, a fraction of a
second); the finer rules use plans written row by row, so the ETAs are exactly what the test says.
"""

import datetime as dt
import zoneinfo
from decimal import Decimal

import pytest
from django.core.cache import cache

from apps.comms.models import ScheduledMessage
from apps.comms.services.outbox import due_messages_dispatch
from apps.comms.services.triggers import route_plan_applied_plan, technician_etas_plan
from apps.core import events
from apps.core.services import work_orders as wos
from apps.routing.events import RoutePlanApplied
from apps.routing.models import RoutePlan, RouteStop, TechnicianRoute
from apps.routing.services.locations import technician_location_record
from apps.routing.services.plans import route_plan_apply, route_plan_create
from tests import factories as f

pytestmark = pytest.mark.django_db
DENVER = zoneinfo.ZoneInfo("America/Denver")
PLACES = {
    "downtown": (39.7392, -104.9903),
    "highlands": (39.7626, -105.0114),
    "capitol_hill": (39.7312, -104.9826),
    "aurora": (39.7294, -104.8319),
    "lakewood": (39.7047, -105.0814),
    "boulder": (40.0150, -105.2705),
}
THURSDAY = dt.date(2026, 11, 19)


@pytest.fixture(autouse=True)
def _quick_solver(settings):
    settings.ROUTING_POLICY = {"plan_seconds": 0.4, "replan_seconds": 0.4}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def applied_events():
    seen = []
    events.subscribe(RoutePlanApplied)(seen.append)
    yield seen
    events.unsubscribe(RoutePlanApplied, seen.append)


def at(date, hour, minute=0):
    return dt.datetime.combine(date, dt.time(hour, minute)).replace(tzinfo=DENVER)


def tech(business, name, place, phone):
    lat, lng = PLACES[place]
    return f.TechnicianFactory(
        business=business,
        user__first_name=name,
        user__last_name="Tech",
        phone=phone,
        home_latitude=Decimal(f"{lat:.6f}"),
        home_longitude=Decimal(f"{lng:.6f}"),
        lunch_break_minutes=0,
    )


def job(business, place, window, phone, *, technician=None, minutes=45):
    lat, lng = PLACES[place]
    customer = f.CustomerFactory(business=business, sms_opt_in=True, phone=phone)
    location = f.ServiceLocationFactory(
        customer=customer, latitude=Decimal(f"{lat:.6f}"), longitude=Decimal(f"{lng:.6f}")
    )
    return wos.work_order_create(
        business=business,
        customer=customer,
        location=location,
        category=f.ServiceCategoryFactory(business=business),
        summary="Service call",
        arrival_window_start=window[0],
        arrival_window_end=window[1],
        estimated_duration_minutes=minutes,
        assigned_technician=technician,
    )


def texts(twilio):
    return [(r["form"]["To"], r["form"]["Body"]) for r in twilio.messages()]


def to(twilio, phone):
    return [body for number, body in texts(twilio) if number == phone]


def test_applying_a_plan_texts_each_technician_once_and_each_customer_once(
    business, main_sender, twilio, clock, run_on_commit, applied_events
):
    clock.set(at(dt.date(2026, 11, 18), 9).astimezone(dt.UTC))
    friday = dt.date(2026, 11, 20)  # two days out: the confirmations are not due yet
    ann = tech(business, "Ann", "downtown", "+13035550201")
    bob = tech(business, "Bob", "aurora", "+13035550202")
    jobs = [
        job(business, "highlands", (at(friday, 9), at(friday, 11)), "+13035550301"),
        job(business, "capitol_hill", (at(friday, 13), at(friday, 15)), "+13035550302"),
        job(business, "aurora", (at(friday, 9), at(friday, 11)), "+13035550303"),
        job(business, "aurora", (at(friday, 13), at(friday, 15)), "+13035550304"),
    ]
    plan = route_plan_create(business=business, date=friday)
    run_on_commit(route_plan_apply, plan=plan, by=None)
    (event,) = applied_events

    for technician in (ann, bob):
        numbers = list(
            plan.stops.filter(technician=technician)
            .order_by("sequence")
            .values_list("work_order__number", flat=True)
        )
        sent = to(twilio, str(technician.phone))
        if not numbers:
            assert sent == []
            continue
        [body] = sent  # one summary, not one text per job
        assert body.startswith("Route update for Fri Nov 20: 1) ")
        positions = [body.index(n) for n in numbers]
        assert positions == sorted(positions)  # in driving order
    assert not ScheduledMessage.objects.filter(kind="technician_dispatch").exists()

    for wo in jobs:
        wo.refresh_from_db()
        [body] = to(twilio, str(wo.customer.phone))
        name = wo.assigned_technician.user.first_name
        assert f"{name} Tech will arrive Fri Nov 20" in body
        assert wo.pk in event.work_order_ids

    # A redelivered event sends nothing twice.
    before = len(twilio.messages())
    run_on_commit(
        route_plan_applied_plan,
        plan_id=event.plan_id,
        technician_ids=list(event.technician_ids),
        work_order_ids=list(event.work_order_ids),
    )
    assert len(twilio.messages()) == before


def test_a_job_booked_by_the_plan_for_tomorrow_gets_its_confirmation_not_also_an_update(
    business, main_sender, twilio, clock, run_on_commit
):
    clock.set(at(dt.date(2026, 11, 18), 9, 30).astimezone(dt.UTC))
    tech(business, "Ann", "downtown", "+13035550201")
    wo = job(business, "highlands", (at(THURSDAY, 10), at(THURSDAY, 12)), "+13035550301")
    plan = route_plan_create(business=business, date=THURSDAY)
    run_on_commit(route_plan_apply, plan=plan, by=None)
    # Its confirmation goes in 30 minutes (24 h before 10:00): no visit update besides it.
    assert not ScheduledMessage.objects.filter(work_order=wo, kind="visit_updated").exists()
    assert to(twilio, "+13035550301") == []
    clock.set(at(dt.date(2026, 11, 18), 10).astimezone(dt.UTC))
    run_on_commit(due_messages_dispatch)
    [body] = to(twilio, "+13035550301")
    assert "Reply C to confirm" in body


# --- plans written row by row -------------------------------------------------------------------
def applied_plan(business, date, stops, *, status=RoutePlan.Status.APPLIED):
    """stops: (technician, work_order, eta) in driving order per technician."""
    RoutePlan.objects.filter(business=business, date=date, status="applied").update(
        status=RoutePlan.Status.SUPERSEDED
    )
    plan = RoutePlan.objects.create(
        business=business, date=date, status=status, planned_at=at(date, 6)
    )
    routes, sequence = {}, {}
    for technician, wo, eta in stops:
        if technician.pk not in routes:
            routes[technician.pk] = TechnicianRoute.objects.create(
                business=business,
                plan=plan,
                technician=technician,
                start_at=at(date, 8),
                end_at=at(date, 17),
                start_latitude=technician.home_latitude,
                start_longitude=technician.home_longitude,
            )
        sequence[technician.pk] = sequence.get(technician.pk, 0) + 1
        RouteStop.objects.create(
            business=business,
            plan=plan,
            route=routes[technician.pk],
            technician=technician,
            work_order=wo,
            sequence=sequence[technician.pk],
            eta=eta,
            service_start=eta,
            departure=eta + dt.timedelta(minutes=45),
            window_start=wo.arrival_window_start,
            window_end=wo.arrival_window_end,
        )
    return plan


def booked(business, place, window, phone, technician, run_on_commit):
    wo = job(business, place, window, phone, technician=technician)
    run_on_commit(wos.work_order_transition, work_order=wo, to_status="scheduled", by=None)
    return wo


def test_a_newer_plan_replaces_an_unsent_route_text_and_the_text_shows_the_newer_route(
    business, main_sender, twilio, clock, run_on_commit
):
    clock.set(at(dt.date(2026, 11, 18), 22).astimezone(dt.UTC))  # quiet hours
    ann = tech(business, "Ann", "downtown", "+13035550201")
    a = job(business, "highlands", (at(THURSDAY, 9), at(THURSDAY, 11)), "+13035550301")
    b = job(business, "lakewood", (at(THURSDAY, 13), at(THURSDAY, 15)), "+13035550302")
    for wo in (a, b):
        wos.work_order_assign(work_order=wo, technician=ann, by=None)
    first = applied_plan(business, THURSDAY, [(ann, a, at(THURSDAY, 9, 20))])
    run_on_commit(
        route_plan_applied_plan, plan_id=first.pk, technician_ids=[ann.pk], work_order_ids=[]
    )
    second = applied_plan(
        business, THURSDAY, [(ann, a, at(THURSDAY, 9, 40)), (ann, b, at(THURSDAY, 13, 10))]
    )
    run_on_commit(
        route_plan_applied_plan, plan_id=second.pk, technician_ids=[ann.pk], work_order_ids=[]
    )
    rows = ScheduledMessage.objects.filter(kind="technician_route").order_by("pk")
    assert [r.status for r in rows] == ["cancelled", "pending"]
    assert twilio.messages() == []
    clock.set(rows[1].due_at)  # 8 am
    run_on_commit(due_messages_dispatch)
    [body] = to(twilio, "+13035550201")
    assert f"1) 9:40 AM {a.number}" in body and f"2) 1:10 PM {b.number}" in body


def test_a_customer_hears_again_only_when_the_window_or_technician_changes(
    business, main_sender, twilio, clock, run_on_commit
):
    clock.set(at(dt.date(2026, 11, 17), 10).astimezone(dt.UTC))  # two days ahead
    ann = tech(business, "Ann", "downtown", "+13035550201")
    bob = tech(business, "Bob", "aurora", "+13035550202")
    wo = booked(
        business,
        "highlands",
        (at(THURSDAY, 9), at(THURSDAY, 11)),
        "+13035550301",
        ann,
        run_on_commit,
    )
    plans = [
        applied_plan(business, THURSDAY, [(ann, wo, at(THURSDAY, 9, 10))]),
        applied_plan(business, THURSDAY, [(ann, wo, at(THURSDAY, 10, 30))]),  # ETA moved only
    ]
    for plan in plans:
        run_on_commit(
            route_plan_applied_plan, plan_id=plan.pk, technician_ids=[], work_order_ids=[wo.pk]
        )
    assert len(to(twilio, "+13035550301")) == 1
    run_on_commit(wos.work_order_assign, work_order=wo, technician=bob, by=None)
    third = applied_plan(business, THURSDAY, [(bob, wo, at(THURSDAY, 9, 30))])
    run_on_commit(
        route_plan_applied_plan, plan_id=third.pk, technician_ids=[], work_order_ids=[wo.pk]
    )
    bodies = to(twilio, "+13035550301")
    assert len(bodies) == 2 and "Bob Tech will arrive" in bodies[1]


def test_a_technician_left_with_no_stops_and_an_unassigned_job_get_no_text(
    business, main_sender, twilio, clock, run_on_commit
):
    clock.set(at(dt.date(2026, 11, 17), 10).astimezone(dt.UTC))
    ann = tech(business, "Ann", "downtown", "+13035550201")
    wo = job(business, "highlands", (at(THURSDAY, 9), at(THURSDAY, 11)), "+13035550301")
    plan = applied_plan(business, THURSDAY, [])
    run_on_commit(
        route_plan_applied_plan, plan_id=plan.pk, technician_ids=[ann.pk], work_order_ids=[wo.pk]
    )
    assert twilio.messages() == []


# --- ETAs refreshed from the technician's position ----------------------------------------------
@pytest.fixture
def today_route(business, main_sender, clock, run_on_commit):
    """Ann has one job today, 10:00-12:00 in the Highlands, and is on her way."""
    clock.set(at(dt.date(2026, 11, 18), 11, 30).astimezone(dt.UTC))
    today = dt.date(2026, 11, 18)
    ann = tech(business, "Ann", "downtown", "+13035550201")
    ann.shift_start, ann.shift_end = dt.time(7), dt.time(19)
    ann.save(update_fields=["shift_start", "shift_end"])
    wo = job(business, "highlands", (at(today, 10), at(today, 12)), "+13035550301", technician=ann)
    for status in ("dispatched", "en_route"):
        run_on_commit(wos.work_order_transition, work_order=wo, to_status=status, by=None)
    applied_plan(business, today, [(ann, wo, at(today, 11, 0))])
    return ann, wo


def fix(technician, place, run_on_commit):
    lat, lng = PLACES[place]
    return run_on_commit(
        technician_location_record, technician=technician, latitude=lat, longitude=lng
    )


def test_an_eta_beyond_the_window_sends_one_running_late_text(
    today_route, twilio, clock, run_on_commit
):
    ann, _wo = today_route
    twilio.requests.clear()  # the en-route text
    update = fix(ann, "boulder", run_on_commit)  # 40 minutes away, window ends at 12:00
    assert update.stops[0].eta > at(dt.date(2026, 11, 18), 12, 5)
    [body] = to(twilio, "+13035550301")
    assert "running late for your 10:00 AM-12:00 PM visit" in body
    minutes = int(body.split("about ")[1].split(" min")[0])
    assert minutes % 5 == 0 and minutes >= 30
    clock.set(clock.now + dt.timedelta(minutes=5))
    fix(ann, "boulder", run_on_commit)  # still late: no second text
    assert len(to(twilio, "+13035550301")) == 1


def test_an_eta_inside_the_window_texts_nobody(today_route, twilio, run_on_commit):
    ann, wo = today_route
    twilio.requests.clear()
    update = fix(ann, "highlands", run_on_commit)
    assert update.stops[0].eta <= wo.arrival_window_end
    assert twilio.messages() == []


def test_running_late_is_not_planned_in_quiet_hours(business, main_sender, twilio, clock):
    clock.set(at(dt.date(2026, 11, 18), 21, 30).astimezone(dt.UTC))
    ann = tech(business, "Ann", "downtown", "+13035550201")
    today = dt.date(2026, 11, 18)
    wo = job(business, "highlands", (at(today, 19), at(today, 21)), "+13035550301", technician=ann)
    wo.status = "dispatched"
    wo.save(update_fields=["status"])
    plan = applied_plan(business, today, [(ann, wo, at(today, 21, 40))])
    assert technician_etas_plan(plan_id=plan.pk, technician_id=ann.pk, work_order_ids=[wo.pk]) == []
    wo.priority = "emergency"  # an emergency is told at any hour
    wo.save(update_fields=["priority"])
    [late] = technician_etas_plan(plan_id=plan.pk, technician_id=ann.pk, work_order_ids=[wo.pk])
    assert late.kind == "running_late" and late.urgent


def test_the_route_text_is_a_valid_twilio_request(business, prism_twilio, clock, run_on_commit):
    """Contract: the multi-segment route summary goes through the SDK to Twilio's own spec."""
    from apps.comms.models import CommunicationLog, SenderNumber
    from tests.comms.conftest import twilio_connection_for

    SenderNumber.objects.create(
        business=business,
        role="main",
        phone="+13035550100",
        connection=twilio_connection_for(business, prism_twilio),
    )
    clock.set(at(dt.date(2026, 11, 18), 10).astimezone(dt.UTC))
    ann = tech(business, "Ann", "downtown", "+13035550201")
    stops = []
    for hour, place in ((9, "highlands"), (11, "capitol_hill"), (13, "lakewood"), (15, "aurora")):
        wo = job(
            business, place, (at(THURSDAY, hour), at(THURSDAY, hour + 2)), f"+130355503{hour:02d}"
        )
        wos.work_order_assign(work_order=wo, technician=ann, by=None)
        stops.append((ann, wo, at(THURSDAY, hour, 15)))
    plan = applied_plan(business, THURSDAY, stops)
    run_on_commit(
        route_plan_applied_plan, plan_id=plan.pk, technician_ids=[ann.pk], work_order_ids=[]
    )
    log = CommunicationLog.objects.get(template_kind="technician_route")
    assert log.provider_id.startswith("SM") and log.recipient == "+13035550201"
    assert log.body.count(") ") == 4 and log.segments >= 1
