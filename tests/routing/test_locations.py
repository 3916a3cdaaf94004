"""Technicians' positions refresh the ETAs of their remaining stops."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError
from apps.core.models import WorkOrderStatus, WorkOrderStatusChange
from apps.core.services.work_orders import work_order_transition
from apps.routing.events import TechnicianEtasUpdated
from apps.routing.models import RoutePlan, TechnicianLocation
from apps.routing.services.locations import technician_location_record
from apps.routing.services.plans import route_plan_apply, route_plan_create

from .conftest import DENVER, PLACES

S = WorkOrderStatus
ALL_DAY = (dt.time(0, 1), dt.time(23, 59))


@pytest.fixture
def eta_events():
    seen = []
    events.subscribe(TechnicianEtasUpdated)(seen.append)
    yield seen
    events.unsubscribe(TechnicianEtasUpdated, seen.append)


@pytest.fixture
def day(world):
    ann = world.technician("Ann", "downtown", shift=ALL_DAY)
    jobs = [world.job("highlands", minutes=30), world.job("arvada", minutes=30)]
    plan = route_plan_create(business=world.business, date=dt.datetime.now(DENVER).date())
    route_plan_apply(plan=plan, by=None)
    return plan, ann, jobs


def post(tech, place, **kwargs):
    lat, lng = PLACES[place]
    return technician_location_record(technician=tech, latitude=lat, longitude=lng, **kwargs)


def test_etas_follow_the_technician(day, eta_events, django_capture_on_commit_callbacks):
    plan, ann, _ = day
    with django_capture_on_commit_callbacks(execute=True):
        near = post(ann, "highlands")
    first_near = near.stops[0].eta
    far = post(ann, "boulder")
    assert len(far.stops) == len(near.stops) == 2
    assert far.stops[0].eta > first_near + dt.timedelta(minutes=15)  # Boulder is a drive away
    assert far.stops[1].eta > far.stops[0].departure  # the next one waits for the first
    stored = plan.stops.get(pk=far.stops[0].pk)
    assert stored.eta == far.stops[0].eta and stored.eta_updated_at is not None
    (event,) = eta_events
    assert event.technician_id == ann.pk and event.plan_id == plan.pk
    assert event.work_order_ids == tuple(s.work_order_id for s in near.stops)
    assert TechnicianLocation.objects.filter(technician=ann).count() == 2


def test_finished_jobs_drop_out_of_the_remaining_stops(day):
    plan, ann, _ = day
    first = plan.stops.get(sequence=1).work_order
    for status in (S.DISPATCHED, S.EN_ROUTE, S.ON_SITE, S.COMPLETED):
        work_order_transition(work_order=first, to_status=status, by=None)
    update = post(ann, "highlands")
    assert [s.work_order_id for s in update.stops] == [plan.stops.get(sequence=2).work_order_id]


def test_a_fix_that_arrives_late_does_not_rewind_etas(day):
    plan, ann, _ = day
    post(ann, "highlands")
    before = list(plan.stops.order_by("sequence").values_list("eta", flat=True))
    old = post(ann, "boulder", recorded_at=timezone.now() - dt.timedelta(minutes=10))
    assert old.stops == [] and old.location.pk
    assert list(plan.stops.order_by("sequence").values_list("eta", flat=True)) == before


def test_bad_fixes_are_refused(day):
    _, ann, _ = day
    with pytest.raises(DomainError, match="future"):
        post(ann, "highlands", recorded_at=timezone.now() + dt.timedelta(hours=1))
    with pytest.raises(DomainError, match="time zone"):
        post(ann, "highlands", recorded_at=dt.datetime(2030, 1, 1, 12))
    with pytest.raises(DomainError, match="Latitude"):
        technician_location_record(technician=ann, latitude=91, longitude=0)
    assert not TechnicianLocation.objects.exists()


def test_a_job_running_long_triggers_a_re_plan(day, django_capture_on_commit_callbacks):
    plan, ann, _ = day
    first = plan.stops.get(sequence=1).work_order
    for status in (S.DISPATCHED, S.EN_ROUTE, S.ON_SITE):
        work_order_transition(work_order=first, to_status=status, by=None)
    WorkOrderStatusChange.objects.filter(work_order=first, to_status=S.ON_SITE).update(
        changed_at=timezone.now() - dt.timedelta(hours=2)  # a 30-minute job, two hours in
    )
    with django_capture_on_commit_callbacks(execute=True):
        update = post(ann, "highlands")
    assert update.overrun == first
    replan = RoutePlan.objects.get(status=RoutePlan.Status.DRAFT)
    assert replan.trigger == f"{first.number} is running long"
    stop = replan.stops.get(work_order=first)
    assert stop.fixed and stop.sequence == 1
