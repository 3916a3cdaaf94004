"""Planning a day on real models: hard rules never break, and every left-out job says why.

Every plan made here goes through the independent checker (apps.routing.checks).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from apps.core.errors import DomainError
from apps.core.models import WorkOrderStatus
from apps.core.services.work_orders import work_order_assign, work_order_transition
from apps.integrations.models import ConnectionStatus
from apps.routing.daygen import advance_to
from apps.routing.models import RouteStop, TechnicianLocation, TechnicianRoute, UnassignedReason
from apps.routing.services.plans import route_plan_apply, route_plan_create
from tests import factories as f

from .conftest import PLACES, assert_feasible, at, reasons, route_of
from .fakes import MatrixFake, evening_rush, metres

S = WorkOrderStatus
R = UnassignedReason


def move(order, *statuses):
    for status in statuses:
        work_order_transition(work_order=order, to_status=status, by=None)
    order.refresh_from_db()
    return order


def plan(world, date, now, **kwargs):
    result = route_plan_create(business=world.business, date=date, now=now, **kwargs)
    assert_feasible(result)
    return result


def test_jobs_go_only_to_technicians_with_the_skills(world, plan_date, morning):
    near = world.technician("Near", "capitol_hill", skills=["hvac"])
    far = world.technician("Far", "golden", skills=["hvac", "boiler"])
    boilers = [world.job("capitol_hill", skills=["boiler"], minutes=45) for _ in range(3)]
    plain = world.job("cherry_creek", skills=["hvac"], minutes=45)
    result = plan(world, plan_date, morning)
    assert set(route_of(result, far)) >= {b.number for b in boilers}
    assert not set(route_of(result, near)) & {b.number for b in boilers}
    assert plain.number in route_of(result, near) + route_of(result, far)
    assert result.unassigned.count() == 0


def test_van_stock_limits_how_many_jobs_need_the_same_part(world, plan_date, morning):
    capacitor = world.part("CAP-45")
    a = world.technician("Ann", "capitol_hill", stock={capacitor: 1})
    b = world.technician("Bob", "lakewood", stock={capacitor: 2})
    jobs = [world.job("capitol_hill", parts={capacitor: 1}, minutes=30) for _ in range(3)]
    result = plan(world, plan_date, morning)
    numbers = {j.number for j in jobs}
    assert len(set(route_of(result, a)) & numbers) == 1
    assert len(set(route_of(result, b)) & numbers) == 2


def test_every_unassigned_job_has_the_right_reason(world, plan_date, morning):
    world.technician("Ann", "downtown", skills=["hvac"], stock={world.part("IGN"): 1})
    rare = world.part("RARE-VALVE")
    no_skill = world.job("highlands", skills=["solar"])
    no_parts = world.job("highlands", parts={rare: 1})
    no_location = world.job(None)
    too_early = world.job("highlands", window=(at(plan_date, 5), at(plan_date, 6, 30)))
    fits = world.job("highlands", window=(at(plan_date, 9), at(plan_date, 11)))
    result = plan(world, plan_date, morning)
    assert reasons(result) == {
        no_skill.number: R.NO_SKILL,
        no_parts.number: R.NO_PARTS,
        no_location.number: R.NO_LOCATION,
        too_early.number: R.NO_TIME,
    }
    details = dict(result.unassigned.values_list("reason", "detail"))
    # In the dispatcher's words, naming the skill, the part, the window and who comes closest.
    assert details[R.NO_SKILL] == (
        "No technician has the 'Solar' skill: add it to a technician or change the job's "
        "required skills."
    )
    assert details[R.NO_PARTS] == (
        "Parts: needs 1 \u00d7 Part RARE-VALVE, not on any qualified technician's van."
    )
    assert details[R.NO_LOCATION].startswith("The address has no map position")
    assert re.fullmatch(
        "Its 5\u20136:30 AM window cannot be reached: the nearest free technician "
        r"\(Ann Tech\) arrives at 8:\d\d AM\.",
        details[R.NO_TIME],
    )
    assert route_of(result, result.routes.get().technician) == [fits.number]


def test_no_technicians_means_no_technician(world, plan_date, morning):
    job = world.job("highlands")
    result = plan(world, plan_date, morning)
    assert reasons(result) == {job.number: R.NO_TECHNICIAN}


def test_a_full_day_leaves_out_jobs_for_lack_of_time(world, plan_date, morning):
    tech = world.technician("Ann", "downtown", shift=(dt.time(8), dt.time(12)))
    jobs = [world.job("highlands", minutes=90) for _ in range(4)]
    result = plan(world, plan_date, morning)
    planned = route_of(result, tech)
    assert 1 <= len(planned) <= 2
    assert set(reasons(result).values()) == {R.NO_TIME}
    assert len(planned) + len(reasons(result)) == len(jobs)


def test_windows_are_met_and_the_earliest_window_goes_first(world, plan_date, morning):
    tech = world.technician("Ann", "downtown")
    late = world.job("aurora", window=(at(plan_date, 14), at(plan_date, 16)))
    early = world.job("lakewood", window=(at(plan_date, 8), at(plan_date, 10)))
    middle = world.job("highlands", window=(at(plan_date, 11), at(plan_date, 13)))
    result = plan(world, plan_date, morning)
    assert route_of(result, tech) == [early.number, middle.number, late.number]
    for stop in result.stops.select_related("work_order"):
        window = stop.work_order
        assert window.arrival_window_start <= stop.service_start <= window.arrival_window_end


def test_lunch_fits_between_jobs_without_breaking_windows(world, plan_date, morning):
    tech = world.technician("Ann", "downtown", lunch=30)
    for hour in (9, 11, 13):
        world.job("capitol_hill", window=(at(plan_date, hour), at(plan_date, hour + 1)))
    result = plan(world, plan_date, morning)
    route = TechnicianRoute.objects.get(plan=result, technician=tech)
    assert route.lunch_minutes == 30 and not route.lunch_skipped
    lunch = route.lunch_start
    assert at(plan_date, 11) <= lunch <= at(plan_date, 14)
    for stop in result.stops.all():
        ends = lunch + dt.timedelta(minutes=30)
        assert not (stop.service_start < ends and lunch < stop.departure)  # no overlap


def test_overtime_is_spent_up_to_the_limit_and_not_beyond(world, plan_date, morning):
    window = (at(plan_date, 15), at(plan_date, 15, 30))
    willing = world.technician("Ann", "downtown", shift=(dt.time(8), dt.time(16)), overtime=150)
    job = world.job("golden", window=window, minutes=90)
    result = plan(world, plan_date, morning)
    assert route_of(result, willing) == [job.number]
    assert TechnicianRoute.objects.get(plan=result, technician=willing).overtime_minutes > 0

    willing.max_overtime_minutes = 0
    willing.save(update_fields=["max_overtime_minutes"])
    result = plan(world, plan_date, morning)
    assert reasons(result) == {job.number: R.NO_TIME}


def test_the_usual_technician_gets_the_customer(world, plan_date, morning):
    a = world.technician("Ann", "downtown")
    b = world.technician("Bob", "downtown")
    customer = f.CustomerFactory(business=world.business)
    past = world.job("highlands", customer=customer)
    work_order_assign(work_order=past, technician=b, by=None)
    move(past, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE, S.COMPLETED)
    job = world.job("highlands", customer=customer)
    result = plan(world, plan_date, morning)
    assert route_of(result, b) == [job.number] and route_of(result, a) == []


def test_high_priority_wins_when_only_one_job_fits(world, plan_date, morning):
    tech = world.technician("Ann", "downtown", shift=(dt.time(8), dt.time(10)))
    window = (at(plan_date, 8), at(plan_date, 9))
    normal = world.job("capitol_hill", window=window, minutes=90)
    high = world.job("capitol_hill", window=window, minutes=90, priority="high")
    result = plan(world, plan_date, morning)
    assert route_of(result, tech) == [high.number]
    assert reasons(result) == {normal.number: R.NO_TIME}


def test_an_emergency_mid_day_is_served_first(world, plan_date, morning):
    near = world.technician("Near", "downtown", skills=["hvac"])
    other = world.technician("Other", "littleton", skills=["hvac"])
    for i, place in enumerate(["capitol_hill", "highlands", "cherry_creek", "wash_park"] * 2):
        hour = 8 + i
        world.job(place, window=(at(plan_date, hour), at(plan_date, hour + 2)), minutes=45)
    first = plan(world, plan_date, morning)
    route_plan_apply(plan=first, by=None, now=morning)
    clock = at(plan_date, 10, 30)
    advance_to(first, clock)
    emergency = world.job("capitol_hill", priority="emergency", skills=["hvac"], minutes=60)
    replan = plan(world, plan_date, clock, time_limit=1.0)
    assert replan.kind == "replan" and replan.based_on_id == first.pk
    stop = RouteStop.objects.get(plan=replan, work_order=emergency)
    ahead = replan.stops.filter(technician=stop.technician, sequence__lt=stop.sequence)
    assert not ahead.filter(fixed=False).exists()  # nothing but a job under way comes before it
    assert stop.eta - clock < dt.timedelta(minutes=90)
    assert stop.technician_id in (near.pk, other.pk)


def test_jobs_under_way_stay_first_with_their_technician(world, plan_date, morning):
    far = world.technician("Far", "golden")
    close = world.technician("Close", "highlands")
    job = world.job("highlands", minutes=60)
    work_order_assign(work_order=job, technician=far, by=None)
    move(job, S.DISPATCHED, S.EN_ROUTE)
    # Planned for today: the technician is driving to the job right now.
    today = at(plan_date, 0).date() - dt.timedelta(days=1)
    now = dt.datetime.combine(today, dt.time(9)).replace(tzinfo=morning.tzinfo)
    for tech in (far, close):
        tech.shift_start, tech.shift_end = dt.time(0, 1), dt.time(23, 59)
        tech.save(update_fields=["shift_start", "shift_end"])
    job.arrival_window_start = job.arrival_window_end = None
    job.save(update_fields=["arrival_window_start", "arrival_window_end"])
    result = plan(world, today, now)
    stop = RouteStop.objects.get(plan=result, work_order=job)
    # Close would be quicker, but the job is under way with Far: it stays, and stays first.
    assert (stop.technician_id, stop.sequence, stop.fixed) == (far.pk, 1, True)
    assert stop.eta >= now
    assert not result.stops.filter(technician=close).exists()


def test_a_fix_a_hand_from_the_door_is_no_drive_for_the_planner_or_the_checker(world, plan_date):
    """The planner shares a matrix row between points within about a metre; the checker must
    too, or a phone's fix 30 cm from the customer's door costs it two parking minutes the
    plan never had, and every stop after it looks mistimed."""
    tech = world.technician("Ann", "downtown")
    job = world.job("highlands", window=(at(plan_date, 9), at(plan_date, 11)), minutes=60)
    later = world.job("capitol_hill", window=(at(plan_date, 10), at(plan_date, 13)))
    work_order_assign(work_order=job, technician=tech, by=None)
    move(job, S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE)
    now = at(plan_date, 9, 30)
    lat, lng = PLACES["highlands"]
    TechnicianLocation.objects.create(
        business=world.business,
        technician=tech,
        latitude=Decimal(f"{lat + 0.000003:.6f}"),
        longitude=Decimal(f"{lng:.6f}"),
        recorded_at=now,
    )
    result = plan(world, plan_date, now)  # the checker agrees with every clock time
    assert route_of(result, tech) == [job.number, later.number]
    assert RouteStop.objects.get(plan=result, work_order=job).eta == now


def test_dispatched_jobs_stay_with_their_technician(world, plan_date, morning):
    far = world.technician("Far", "golden")
    world.technician("Close", "highlands")
    job = world.job("highlands", window=(at(plan_date, 10), at(plan_date, 12)))
    work_order_assign(work_order=job, technician=far, by=None)
    move(job, S.SCHEDULED, S.DISPATCHED)
    result = plan(world, plan_date, morning)
    assert route_of(result, far) == [job.number]


def test_a_past_day_cannot_be_planned(world, plan_date, morning):
    with pytest.raises(DomainError, match="over"):
        route_plan_create(business=world.business, date=plan_date - dt.timedelta(days=2))


def test_the_planning_horizon_follows_the_policy(world, plan_date, settings):
    settings.ROUTING_POLICY = {**settings.ROUTING_POLICY, "horizon_days": 1}
    with pytest.raises(DomainError, match="too far ahead") as refused:
        route_plan_create(business=world.business, date=plan_date + dt.timedelta(days=1))
    assert refused.value.field == "date"
    route_plan_create(business=world.business, date=plan_date)  # tomorrow: inside


def test_a_failing_vendor_falls_back_to_estimates(world, plan_date, morning):
    world.technician("Ann", "downtown")
    job = world.job("highlands")
    with MatrixFake() as fake:
        f.IntegrationConnectionFactory(
            business=world.business,
            provider="osrm",
            name="OSRM",
            api_base_url=fake.url,
            status=ConnectionStatus.CONNECTED,
        )
        fake.fail("osrm", 503, {"code": "Busy"})
        result = plan(world, plan_date, morning)
    assert result.travel_source == "embedded"
    assert any("osrm failed" in w for w in result.kpis["warnings"])
    assert result.stops.get().work_order_id == job.pk


def test_plans_only_see_their_own_business(world, rival_world, plan_date, morning):
    mine = world.technician("Ann", "downtown")
    rival_world.technician("Rex", "downtown")
    theirs = rival_world.job("capitol_hill")
    own = world.job("capitol_hill")
    result = plan(world, plan_date, morning)
    assert route_of(result, mine) == [own.number]
    assert not result.stops.filter(work_order=theirs).exists()
    assert set(result.routes.values_list("technician__business", flat=True)) == {world.business.pk}


def test_here_traffic_is_taken_from_the_band_of_each_leg(world, plan_date, morning):
    tech = world.technician("Ann", "downtown", shift=(dt.time(8), dt.time(19)))
    before = world.job("aurora", window=(at(plan_date, 16), at(plan_date, 16, 30)), minutes=30)
    rush = world.job("lakewood", window=(at(plan_date, 17), at(plan_date, 18)), minutes=30)
    with MatrixFake() as fake:
        fake.traffic = evening_rush
        f.IntegrationConnectionFactory(
            business=world.business,
            provider="here",
            name="HERE",
            api_base_url=fake.url,
            credentials={"api_key": "here-key-123456"},
            status=ConnectionStatus.CONNECTED,
        )
        result = plan(world, plan_date, morning)  # the checker re-walks it with the same bands
        asked = {d.astimezone(world.business.timezone).hour for d in fake.departures["here"]}
    assert result.travel_source == "here"
    assert {8, 17} <= asked  # the morning and the evening rush were each asked for
    assert route_of(result, tech) == [before.number, rush.number]
    first, second = result.stops.order_by("sequence")
    free = metres(PLACES["aurora"], PLACES["lakewood"]) / 10 / 60  # the fake drives 10 m/s
    morning_leg = metres(PLACES["downtown"], PLACES["aurora"]) / 10 / 60
    assert abs(first.drive_minutes - morning_leg) <= 1  # 08:00 is free flow in the fake
    assert abs(second.drive_minutes - 2 * free) <= 1  # leaves ~16:30: evening rush, twice as slow
    assert second.service_start <= rush.arrival_window_end
