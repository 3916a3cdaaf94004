"""Independent feasibility check of a stored plan, straight from the database.

It trusts nothing the planner computed except the order of the stops: skills and van stock are
read from the technicians and work orders, windows from the work orders, and the clock is
re-walked leg by leg with the travel-time model. Tests run it on every plan; the day benchmark
reports its count.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

from apps.core.models import Technician, VanStock, WorkOrderPart, WorkOrderStatus
from apps.routing.models import RoutePlan, RouteStop
from apps.routing.planning.policy import policy as current_policy
from apps.routing.travel import LatLng, travel_times_for

S = WorkOrderStatus
# Stored times are rounded to the second; a minute of drift means the clock is wrong.
TOLERANCE = dt.timedelta(seconds=60)


def plan_violations(plan: RoutePlan) -> list[str]:
    problems: list[str] = []
    stops = list(
        RouteStop.objects.filter(plan=plan)
        .select_related("work_order__location", "technician")
        .order_by("technician_id", "sequence")
    )
    by_tech: dict[int, list[RouteStop]] = defaultdict(list)
    for stop in stops:
        by_tech[stop.technician_id].append(stop)
        if stop.work_order.business_id != plan.business_id:
            problems.append(f"{stop.work_order.number} belongs to another business.")
    seen: set[int] = set()
    for stop in stops:
        if stop.work_order_id in seen:
            problems.append(f"{stop.work_order.number} is planned twice.")
        seen.add(stop.work_order_id)
    skills = _skills(plan, [s.work_order_id for s in stops])
    techs = {t.pk: t for t in Technician.objects.filter(pk__in=by_tech).prefetch_related("skills")}
    for tech_id, route in by_tech.items():
        tech = techs[tech_id]
        if tech.business_id != plan.business_id:
            problems.append(f"{tech} belongs to another business.")
        problems += _skills_and_parts(tech, route, skills)
        problems += _fixed(tech, route)
        problems += _clock(plan, tech, route)
    problems += _fixed_missing(plan, by_tech)
    return problems


def _skills(plan, work_order_ids) -> dict[int, set[int]]:
    from apps.core.models import WorkOrder

    needed: dict[int, set[int]] = defaultdict(set)
    through = WorkOrder.required_skills.through
    for wo_id, skill_id in through.objects.filter(workorder_id__in=work_order_ids).values_list(
        "workorder_id", "skill_id"
    ):
        needed[wo_id].add(skill_id)
    return needed


def _kept(tech, stop) -> bool:
    """Under way or dispatched with this technician: the plan keeps it, it did not choose it."""
    order = stop.work_order
    if stop.fixed:
        return True
    return order.status == S.DISPATCHED and order.assigned_technician_id == tech.pk


def _skills_and_parts(tech, route, needed) -> list[str]:
    problems = []
    have = {s.pk for s in tech.skills.all()}
    for stop in route:
        if _kept(tech, stop):
            continue  # the dispatcher chose it; a missing skill is their call (a plan warning)
        missing = needed.get(stop.work_order_id, set()) - have
        if missing:
            problems.append(f"{tech} lacks a skill {stop.work_order.number} needs.")
    stock = dict(VanStock.objects.filter(technician=tech).values_list("part_id", "quantity"))
    kept = {s.work_order_id for s in route if _kept(tech, s)}
    use: dict[int, int] = defaultdict(int)
    reserved: dict[int, int] = defaultdict(int)
    for wo_id, part_id, qty in WorkOrderPart.objects.filter(
        work_order_id__in=[s.work_order_id for s in route]
    ).values_list("work_order_id", "part_id", "quantity"):
        (reserved if wo_id in kept else use)[part_id] += qty
    for part_id, qty in use.items():
        # Kept jobs take what they need from the van first; the plan's choices share the rest.
        left = max(0, stock.get(part_id, 0) - reserved.get(part_id, 0))
        if left < qty:
            problems.append(
                f"{tech}'s van has {left} of part {part_id} left for the plan; the route needs "
                f"{qty}."
            )
    return problems


def _fixed(tech, route) -> list[str]:
    problems = []
    planned_before = False  # a stop the plan chose comes earlier in the route
    for stop in route:
        under_way = stop.work_order.status in (S.EN_ROUTE, S.ON_SITE)
        if under_way and stop.work_order.assigned_technician_id != tech.pk:
            problems.append(f"{stop.work_order.number} is under way with someone else.")
        if under_way and planned_before:
            problems.append(f"{stop.work_order.number} is under way but not {tech}'s next stop.")
        planned_before = planned_before or not under_way
    return problems


def _fixed_missing(plan, by_tech) -> list[str]:
    from apps.core.models import WorkOrder

    planned = {s.work_order_id for route in by_tech.values() for s in route}
    problems = []
    working = set(plan.routes.values_list("technician_id", flat=True))
    for order in WorkOrder.objects.filter(
        business_id=plan.business_id, status__in=(S.EN_ROUTE, S.ON_SITE)
    ).exclude(pk__in=planned):
        if (
            order.assigned_technician_id in working
            and plan.date == plan.planned_at.astimezone(plan.business.timezone).date()
        ):
            problems.append(f"{order.number} is under way but missing from the plan.")
    return problems


def _clock(plan, tech, route) -> list[str]:
    problems = []
    summary = plan.routes.get(technician=tech)
    start = LatLng(float(summary.start_latitude), float(summary.start_longitude))
    home = LatLng(float(tech.home_latitude), float(tech.home_longitude))
    # Points within about a metre share a row, as in the planner: a phone's fix a few
    # centimetres from the customer's door is no drive (no parking minutes either).
    wanted = [start, home]
    for stop in route:
        loc = stop.work_order.location
        wanted.append(LatLng(float(loc.latitude), float(loc.longitude)))
    rows: dict[tuple[float, float], tuple[int, LatLng]] = {}
    for point in wanted:
        rows.setdefault(point.rounded(), (len(rows), point))
    points = [point for _, point in rows.values()]
    row = [rows[point.rounded()][0] for point in wanted]
    matrix = _travel(plan).matrix(points, departure=summary.start_at, until=summary.end_at)
    clock, here = summary.start_at, row[0]
    lunch = _Lunch(summary)
    for index, stop in zip(row[2:], route, strict=True):
        if lunch.pending and lunch.start < stop.eta:
            clock = lunch.take(clock, problems)  # lunch before driving to this stop
        arrival = clock + dt.timedelta(seconds=matrix.leg_seconds(here, index, clock))
        ready = arrival
        if lunch.pending and lunch.start < stop.service_start:
            ready = lunch.take(arrival, problems)  # at the stop's door, before starting
        order = stop.work_order
        waits = order.arrival_window_start and not (stop.fixed and order.status == S.ON_SITE)
        begin = max(ready, order.arrival_window_start) if waits else ready
        if abs(begin - stop.service_start) > TOLERANCE:
            problems.append(
                f"{order.number}: work starts at {begin:%H:%M}, the plan says "
                f"{stop.service_start:%H:%M}."
            )
        late = order.arrival_window_end and begin > order.arrival_window_end + TOLERANCE
        # A job under way is where it is; a window that had closed when the plan was made is
        # missed already (the job is planned as soon as possible), not a promise the plan broke.
        missed = order.arrival_window_end and order.arrival_window_end <= plan.planned_at
        if late and not stop.fixed and not missed:
            problems.append(f"{order.number} starts after its window closes.")
        clock, here = begin + dt.timedelta(minutes=_minutes(stop)), index
    if lunch.pending:
        clock = lunch.take(clock, problems)  # after the last job, before driving home
    end = clock + dt.timedelta(seconds=matrix.leg_seconds(here, row[1], clock))
    tz = plan.business.timezone
    shift_end = dt.datetime.combine(plan.date, tech.shift_end).replace(tzinfo=tz)
    latest = shift_end + dt.timedelta(minutes=tech.max_overtime_minutes)
    if end > latest + TOLERANCE:
        problems.append(f"{tech} is home at {end:%H:%M}, after {latest:%H:%M}.")
    shift_start = dt.datetime.combine(plan.date, tech.shift_start).replace(tzinfo=tz)
    if summary.start_at < shift_start - TOLERANCE:
        problems.append(f"{tech} starts before the shift.")
    problems += _lunch_rules(plan, tech, summary, route)
    return problems


class _Lunch:
    """The stored lunch, taken once along the walk: never before the technician is free."""

    def __init__(self, summary):
        self.start = summary.lunch_start
        self.pending = summary.lunch_start is not None
        self.length = dt.timedelta(minutes=summary.lunch_minutes)

    def take(self, free_at: dt.datetime, problems: list[str]) -> dt.datetime:
        self.pending = False
        if self.start < free_at - TOLERANCE:
            problems.append(f"Lunch at {self.start:%H:%M} overlaps driving or work.")
        return max(free_at, self.start) + self.length


def _lunch_rules(plan, tech, summary, route) -> list[str]:
    """A lunch is inside the lunch period and as long as configured, or flagged as skipped."""
    rules, tz = current_policy(), plan.business.timezone
    if not tech.lunch_break_minutes or not route:
        return []
    lunch_from = dt.datetime.combine(plan.date, rules.lunch_from).replace(tzinfo=tz)
    lunch_until = dt.datetime.combine(plan.date, rules.lunch_until).replace(tzinfo=tz)
    if summary.lunch_start is None:
        reaches = summary.start_at < lunch_until and summary.end_at > lunch_from
        if reaches and not summary.lunch_skipped and summary.start_at <= lunch_from:
            return [f"{tech} works through the lunch period with no lunch and no flag."]
        return []
    problems = []
    end = summary.lunch_start + dt.timedelta(minutes=summary.lunch_minutes)
    if summary.lunch_start < lunch_from - TOLERANCE or end > lunch_until + TOLERANCE:
        problems.append(f"{tech}'s lunch at {summary.lunch_start:%H:%M} is outside the period.")
    if summary.lunch_minutes < tech.lunch_break_minutes:
        problems.append(
            f"{tech}'s lunch is {summary.lunch_minutes} min, not {tech.lunch_break_minutes}."
        )
    return problems


def _travel(plan: RoutePlan):
    """The travel-time source the plan was made with (it may have fallen back to estimates)."""
    choice = travel_times_for(plan.business)
    if choice.provider.source == plan.travel_source:
        return choice.provider
    return choice.fallback


def _minutes(stop: RouteStop) -> float:
    if stop.fixed and stop.work_order.status == S.ON_SITE:
        # Part of the job is done; only the planner knows how much it expected to remain.
        return (stop.departure - stop.service_start).total_seconds() / 60
    return stop.work_order.estimated_duration_minutes
