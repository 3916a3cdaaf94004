"""Apply and discard, the per-technician diff, events for other apps, automatic re-plans."""

from __future__ import annotations

import datetime as dt

import pytest

from apps.core import events
from apps.core.errors import DomainError
from apps.core.models import WorkOrderStatus
from apps.core.services.work_orders import (
    work_order_assign,
    work_order_create,
    work_order_transition,
    work_order_window_set,
)
from apps.routing.events import RoutePlanApplied
from apps.routing.models import RoutePlan
from apps.routing.services.diff import route_plan_diff
from apps.routing.services.plans import (
    ApplyNeedsConfirmation,
    route_plan_apply,
    route_plan_create,
    route_plan_discard,
)
from tests import factories as f

from .conftest import DENVER, assert_feasible, at, route_of

S = WorkOrderStatus


@pytest.fixture
def applied_events():
    seen = []
    events.subscribe(RoutePlanApplied)(seen.append)
    yield seen
    events.unsubscribe(RoutePlanApplied, seen.append)


def make(world, date, now, **kwargs):
    plan = route_plan_create(business=world.business, date=date, now=now, **kwargs)
    assert_feasible(plan)
    return plan


def test_apply_assigns_schedules_and_promises_windows(
    world, plan_date, morning, dispatcher, applied_events, django_capture_on_commit_callbacks
):
    ann = world.technician("Ann", "downtown")
    booked = world.job("highlands", window=(at(plan_date, 9), at(plan_date, 11)))
    backlog = world.job("capitol_hill")  # no window yet
    plan = make(world, plan_date, morning)
    with django_capture_on_commit_callbacks(execute=True):
        route_plan_apply(plan=plan, by=dispatcher, now=morning)
    booked.refresh_from_db()
    backlog.refresh_from_db()
    assert (booked.assigned_technician, booked.status) == (ann, S.SCHEDULED)
    assert booked.arrival_window_start == at(plan_date, 9)  # a promise is never moved
    assert (backlog.assigned_technician, backlog.status) == (ann, S.SCHEDULED)
    stop = plan.stops.get(work_order=backlog)
    assert backlog.arrival_window_start <= stop.eta < backlog.arrival_window_end
    assert backlog.arrival_window_end - backlog.arrival_window_start == dt.timedelta(hours=2)
    assert backlog.arrival_window_start.astimezone(DENVER).minute in (0, 30)
    plan.refresh_from_db()
    assert (plan.status, plan.decided_by) == (RoutePlan.Status.APPLIED, dispatcher)
    (event,) = applied_events
    assert event.plan_id == plan.pk and event.technician_ids == (ann.pk,)
    assert set(event.work_order_ids) == {booked.pk, backlog.pk}
    assert booked.status_changes.filter(to_status=S.SCHEDULED, changed_by=dispatcher).exists()


def test_a_second_plan_supersedes_the_first_and_shows_its_changes(world, plan_date, morning):
    ann = world.technician("Ann", "downtown")
    bob = world.technician("Bob", "golden")
    near_ann = world.job("capitol_hill", window=(at(plan_date, 9), at(plan_date, 11)))
    first = make(world, plan_date, morning)
    route_plan_apply(plan=first, by=None, now=morning)
    assert route_of(first, ann) == [near_ann.number]
    ann.skills.set([world.skill("boiler")])
    near_ann.required_skills.set([world.skill("golden-only")])
    bob.skills.set([world.skill("golden-only")])
    second = make(world, plan_date, morning)
    assert second.kind == RoutePlan.Kind.REPLAN and second.based_on == first
    diff = route_plan_diff(plan=second)
    assert diff.baseline == f"applied plan #{first.pk}"
    changes = {c.technician_id: c for c in diff.changed}
    assert changes[ann.pk].removed == [near_ann.number]
    assert changes[bob.pk].added == [near_ann.number]
    assert diff.work_orders_changed == (near_ann.pk,)
    route_plan_apply(plan=second, by=None, now=morning)
    first.refresh_from_db()
    assert first.status == RoutePlan.Status.SUPERSEDED
    near_ann.refresh_from_db()
    assert near_ann.assigned_technician == bob


def test_without_an_applied_plan_the_diff_is_against_current_assignments(world, plan_date, morning):
    ann = world.technician("Ann", "downtown", skills=["hvac"])
    bob = world.technician("Bob", "golden")
    job = world.job("capitol_hill", skills=["hvac"])
    work_order_assign(work_order=job, technician=bob, by=None)
    plan = make(world, plan_date, morning)
    diff = route_plan_diff(plan=plan)
    assert diff.baseline == "current assignments"
    changes = {c.technician_id: c for c in diff.changed}
    assert changes[bob.pk].removed == [job.number] and changes[ann.pk].added == [job.number]


def test_only_drafts_can_be_applied_or_discarded(world, plan_date, morning):
    world.technician("Ann")
    world.job("highlands")
    plan = make(world, plan_date, morning)
    route_plan_discard(plan=plan, by=None)
    with pytest.raises(DomainError, match="discarded"):
        route_plan_apply(plan=plan, by=None, now=morning)
    with pytest.raises(DomainError, match="discarded"):
        route_plan_discard(plan=plan, by=None)
    other = make(world, plan_date, morning)
    route_plan_apply(plan=other, by=None, now=morning)
    with pytest.raises(DomainError, match="applied"):
        route_plan_apply(plan=other, by=None, now=morning)
    assert RoutePlan.objects.filter(status=RoutePlan.Status.APPLIED).count() == 1


def test_a_day_that_is_over_cannot_be_applied(world, plan_date, morning):
    world.technician("Ann")
    world.job("highlands")
    plan = make(world, plan_date, morning)
    with pytest.raises(DomainError, match="over"):
        route_plan_apply(plan=plan, by=None, now=morning + dt.timedelta(days=2))
    plan.refresh_from_db()
    assert plan.status == RoutePlan.Status.DRAFT


def test_jobs_closed_since_planning_are_left_alone(world, plan_date, morning):
    world.technician("Ann")
    job = world.job("highlands")
    keep = world.job("capitol_hill")
    plan = make(world, plan_date, morning)
    work_order_transition(work_order=job, to_status=S.CANCELLED, by=None)
    route_plan_apply(plan=plan, by=None, now=morning)
    job.refresh_from_db()
    keep.refresh_from_db()
    assert (job.status, job.assigned_technician) == (S.CANCELLED, None)
    assert keep.status == S.SCHEDULED
    plan.refresh_from_db()
    assert plan.kpis["apply_notes"] == [f"{job.number} is cancelled; left alone."]


def test_a_booked_job_that_no_longer_fits_goes_back_to_the_queue(world, plan_date, morning):
    ann = world.technician("Ann", shift=(dt.time(8), dt.time(12)))
    job = world.job("highlands", window=(at(plan_date, 13), at(plan_date, 15)))
    work_order_assign(work_order=job, technician=ann, by=None)
    work_order_transition(work_order=job, to_status=S.SCHEDULED, by=None)
    plan = make(world, plan_date, morning)
    assert plan.unassigned.get().work_order == job
    with pytest.raises(ApplyNeedsConfirmation) as refused:
        route_plan_apply(plan=plan, by=None, now=morning)
    [change] = refused.value.changes
    assert (change.number, change.from_name, change.to_technician_id) == (
        job.number,
        str(ann),
        None,
    )
    assert "1 job" in refused.value.message and refused.value.code == "confirmation_required"
    job.refresh_from_db()
    plan.refresh_from_db()
    assert (job.status, job.assigned_technician, plan.status) == (S.SCHEDULED, ann, "draft")
    route_plan_apply(plan=plan, by=None, now=morning, confirm=True)
    job.refresh_from_db()
    assert (job.status, job.assigned_technician) == (S.NEW, None)
    assert job.arrival_window_start == at(plan_date, 13)  # the promise stays for the dispatcher


def test_window_service_refuses_bad_windows_and_closed_jobs(world, plan_date):
    job = world.job("highlands")
    start = at(plan_date, 9)
    with pytest.raises(DomainError, match="end after it starts"):
        work_order_window_set(work_order=job, arrival_window_start=start, arrival_window_end=start)
    with pytest.raises(DomainError, match="time zone"):
        work_order_window_set(
            work_order=job,
            arrival_window_start=start.replace(tzinfo=None),
            arrival_window_end=(start + dt.timedelta(hours=2)).replace(tzinfo=None),
        )
    work_order_transition(work_order=job, to_status=S.CANCELLED, by=None)
    with pytest.raises(DomainError, match="cancelled"):
        work_order_window_set(
            work_order=job,
            arrival_window_start=start,
            arrival_window_end=start + dt.timedelta(hours=2),
        )


# --- automatic re-plans ------------------------------------------------------------------------
@pytest.fixture
def today_applied(world, django_capture_on_commit_callbacks):
    """An applied plan for today; the technician works around the clock so the hour does not
    matter."""
    tech = world.technician("Ann", "downtown", shift=(dt.time(0, 1), dt.time(23, 59)))
    job = world.job("highlands", minutes=30)
    today = dt.datetime.now(DENVER).date()
    plan = route_plan_create(business=world.business, date=today)
    route_plan_apply(plan=plan, by=None)
    return plan, tech, job


def test_an_emergency_call_makes_a_draft_re_plan(
    world, today_applied, dispatcher, django_capture_on_commit_callbacks
):
    plan, tech, _ = today_applied
    customer = f.CustomerFactory(business=world.business)
    location = f.ServiceLocationFactory(
        customer=customer, latitude="39.7626", longitude="-105.0114"
    )
    # The event is delivered after commit; Celery runs eagerly in tests.
    with django_capture_on_commit_callbacks(execute=True):
        emergency = work_order_create(
            business=world.business,
            customer=customer,
            location=location,
            category=world.category,
            summary="Gas smell",
            priority="emergency",
            estimated_duration_minutes=45,
            created_by=dispatcher,
        )
    drafts = RoutePlan.objects.filter(status=RoutePlan.Status.DRAFT, kind=RoutePlan.Kind.REPLAN)
    assert drafts.count() == 1
    replan = drafts.get()
    assert replan.trigger == f"Emergency: {emergency.number}"
    assert replan.based_on == plan
    assert replan.stops.filter(work_order=emergency, technician=tech).exists()
    assert_feasible(replan)


def test_cancelling_a_planned_job_re_plans_once(
    world, today_applied, django_capture_on_commit_callbacks
):
    _, _, job = today_applied
    with django_capture_on_commit_callbacks(execute=True):
        work_order_transition(work_order=job, to_status=S.CANCELLED, by=None)
    replan = RoutePlan.objects.get(status=RoutePlan.Status.DRAFT)
    assert replan.trigger == f"Cancelled: {job.number}" and not replan.stops.exists()
    # The same task delivered twice makes one plan.
    from apps.routing.tasks import route_replan_task

    route_replan_task(
        business_id=world.business.pk,
        date=str(replan.date),
        trigger=replan.trigger,
        trigger_key=replan.trigger_key,
    )
    assert RoutePlan.objects.filter(trigger_key=replan.trigger_key).count() == 1


def test_no_re_plan_for_days_without_an_applied_plan(
    world, django_capture_on_commit_callbacks, captured_events
):
    world.technician("Ann", shift=(dt.time(0, 1), dt.time(23, 59)))
    job = world.job("highlands")
    customer = f.CustomerFactory(business=world.business)
    location = f.ServiceLocationFactory(customer=customer)
    with django_capture_on_commit_callbacks(execute=True):
        work_order_transition(work_order=job, to_status=S.CANCELLED, by=None)
        work_order_create(
            business=world.business,
            customer=customer,
            location=location,
            category=world.category,
            summary="Gas smell",
            priority="emergency",
        )
    kinds = {type(e).__name__ for e in captured_events}
    assert {"WorkOrderStatusChanged", "WorkOrderCreated"} <= kinds  # delivered ...
    assert not RoutePlan.objects.exists()  # ... and neither found a plan to redo


def test_moving_a_planned_job_to_another_address_re_plans(
    world, today_applied, django_capture_on_commit_callbacks
):
    from apps.core.services.work_orders import work_order_location_set

    _, _, job = today_applied
    elsewhere = f.ServiceLocationFactory(
        customer=job.customer, latitude="39.6780", longitude="-104.9611"
    )
    with django_capture_on_commit_callbacks(execute=True):
        work_order_location_set(work_order=job, location=elsewhere, by=None)
    replan = RoutePlan.objects.get(status=RoutePlan.Status.DRAFT)
    assert replan.trigger == f"Address changed: {job.number}"
    assert replan.stops.filter(work_order=job).exists()
    assert_feasible(replan)
