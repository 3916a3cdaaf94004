"""Read one business day from the database into plain planning inputs.

Which jobs: open work orders whose arrival window overlaps the day; on today's plan also the
dispatched, en-route and on-site jobs; and the backlog (new jobs without a window yet).
Which technicians: the active ones with a home location (routes start and end there) whose day
is not over; the others are kept aside (`absent`) so the plan can say who could have helped.

Pinned jobs: a job on site or en route is under way with its technician (`fixed_to`, in the
order it was started: on site first); a dispatched job is promised to its technician
(`pinned_to`). A plan never gives either to someone else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from collections import defaultdict

from django.db.models import Q
from django.utils import timezone

from apps.core.errors import DomainError
from apps.core.models import (
    Business,
    Priority,
    Technician,
    WorkOrder,
    WorkOrderPart,
    WorkOrderStatus,
    WorkOrderStatusChange,
)
from apps.routing.travel import LatLng

from .policy import Policy
from .positions import last_finished, recent_positions

S = WorkOrderStatus
OPEN = (S.NEW, S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE)
FIXED = (S.ON_SITE, S.EN_ROUTE)  # order matters: on site comes first
DONE = (S.COMPLETED, S.INVOICED, S.PAID)


@dataclasses.dataclass
class TechInput:
    id: int
    name: str
    home: LatLng
    start_point: LatLng
    start_at: dt.datetime
    shift_start: dt.datetime
    shift_end: dt.datetime
    lunch_minutes: int
    max_overtime_minutes: int
    skills: frozenset[int]
    stock: dict[int, int]  # what the plan may use: the van minus the parts its kept jobs need
    position_source: str = "home"  # home, gps, on_site, last_job
    van: dict[int, int] = dataclasses.field(default_factory=dict)  # everything on the van

    @property
    def latest_end(self) -> dt.datetime:
        return self.shift_end + dt.timedelta(minutes=self.max_overtime_minutes)


@dataclasses.dataclass
class JobInput:
    id: int
    number: str
    summary: str
    customer_id: int
    customer_name: str
    point: LatLng | None
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    duration_minutes: int
    skills: frozenset[int]
    parts: dict[int, int]
    priority: str
    status: str
    assigned_to: int | None
    fixed_to: int | None = None  # en route / on site with this technician
    fixed_rank: int = 0  # order among that technician's jobs under way (on site first)
    pinned_to: int | None = None  # dispatched to this technician
    usual_technician: int | None = None
    # Today's job whose arrival window closed before now: the promise is already broken, the
    # customer is still waiting, so it is planned as soon as possible instead of dropped.
    window_missed: bool = False

    @property
    def emergency(self) -> bool:
        return self.priority == Priority.EMERGENCY

    @property
    def kept_by(self) -> int | None:
        """The technician this job stays with whatever the plan says (under way or dispatched)."""
        return self.fixed_to if self.fixed_to is not None else self.pinned_to

    @property
    def has_window(self) -> bool:
        """A window the plan still has to meet (a missed one no longer binds)."""
        return bool(self.window_start and self.window_end and not self.window_missed)


@dataclasses.dataclass(frozen=True)
class Absent:
    id: int
    name: str
    why: str  # "their day is over", "has no home location"
    skills: frozenset[int]
    stock: dict[int, int]


@dataclasses.dataclass
class DayInput:
    business: Business
    date: dt.date
    tz: dt.tzinfo
    day_start: dt.datetime
    now: dt.datetime
    technicians: list[TechInput]
    jobs: list[JobInput]
    skill_names: dict[int, str]
    part_names: dict[int, str]
    warnings: list[str]
    # Active technicians who are not planned (day over, no home): name why, for the reasons.
    absent: list[Absent] = dataclasses.field(default_factory=list)

    @property
    def is_today(self) -> bool:
        return self.now.astimezone(self.tz).date() == self.date

    def seconds(self, moment: dt.datetime) -> float:
        return (moment - self.day_start).total_seconds()

    def moment(self, seconds: float) -> dt.datetime:
        return self.day_start + dt.timedelta(seconds=seconds)


def eligible(tech: TechInput, job: JobInput) -> bool:
    """Has every skill the job needs and enough of every part it needs."""
    return job.skills <= tech.skills and all(
        tech.stock.get(part, 0) >= qty for part, qty in job.parts.items()
    )


def _aware(date: dt.date, time: dt.time, tz) -> dt.datetime:
    return dt.datetime.combine(date, time).replace(tzinfo=tz)


def _point(lat, lng) -> LatLng | None:
    if lat is None or lng is None:
        return None
    return LatLng(float(lat), float(lng))


def planning_horizon(
    *, business: Business, policy: Policy, now: dt.datetime | None = None
) -> tuple[dt.date, dt.date]:
    """The first and last day that may be planned: today and `policy.horizon_days` ahead, in the
    business's time zone."""
    today = (now or timezone.now()).astimezone(zoneinfo.ZoneInfo(str(business.timezone))).date()
    return today, today + dt.timedelta(days=policy.horizon_days)


def planning_date_check(
    *, business: Business, date: dt.date, policy: Policy, now: dt.datetime | None = None
) -> None:
    """Refuse a day outside the planning horizon (every surface that plans calls this)."""
    first, last = planning_horizon(business=business, policy=policy, now=now)
    if date < first:
        raise DomainError(
            "That day is over; only today and later days can be planned.", field="date"
        )
    if date > last:
        raise DomainError(
            f"{date.isoformat()} is too far ahead: days up to {last.isoformat()} "
            f"({policy.horizon_days} days from today) can be planned.",
            field="date",
        )


def load_day(
    *, business: Business, date: dt.date, policy: Policy, now: dt.datetime | None = None
) -> DayInput:
    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(str(business.timezone))
    planning_date_check(business=business, date=date, policy=policy, now=now)
    day_start = _aware(date, dt.time(0), tz)
    day_end = day_start + dt.timedelta(days=1)
    warnings: list[str] = []
    day = DayInput(
        business=business,
        date=date,
        tz=tz,
        day_start=day_start,
        now=now,
        technicians=[],
        jobs=[],
        skill_names={},
        part_names={},
        warnings=warnings,
    )
    day.jobs = _jobs(day, day_end, policy)
    day.technicians = _technicians(day, policy)
    return day


def _technicians(day: DayInput, policy: Policy) -> list[TechInput]:
    techs = (
        Technician.objects.filter(business=day.business, active=True)
        .select_related("user")
        .prefetch_related("skills", "stock")
        .order_by("pk")
    )
    fixed_at = {j.fixed_to: j for j in day.jobs if j.fixed_to and j.point and not j.fixed_rank}
    positions = recent_positions(day, policy) if day.is_today else {}
    finished = last_finished(day) if day.is_today else {}
    result = []
    for tech in techs:
        name = str(tech)
        skills = frozenset(s.pk for s in tech.skills.all())
        day.skill_names.update({s.pk: s.name for s in tech.skills.all()})
        stock = {s.part_id: s.quantity for s in tech.stock.all()}
        home = _point(tech.home_latitude, tech.home_longitude)
        shift_start = _aware(day.date, tech.shift_start, day.tz)
        shift_end = _aware(day.date, tech.shift_end, day.tz)
        start_at = max(shift_start, day.now)
        absent = None
        if home is None:
            day.warnings.append(f"{name} has no home location, so no route can start there.")
            absent = "has no home location set"
        elif start_at >= shift_end + dt.timedelta(minutes=tech.max_overtime_minutes):
            absent = "their day is over"
        if absent:
            day.absent.append(Absent(tech.pk, name, absent, skills, stock))
            continue
        start_point, source = home, "home"
        if tech.pk in positions:
            start_point, source = positions[tech.pk], "gps"
        elif tech.pk in fixed_at and fixed_at[tech.pk].status == S.ON_SITE:
            start_point, source = fixed_at[tech.pk].point, "on_site"
        elif tech.pk in finished:
            # No phone position: at midday a technician is near the job they last finished,
            # not at home, and planning from home would make the afternoon look out of reach.
            start_point, source = finished[tech.pk], "last_job"
        result.append(
            TechInput(
                id=tech.pk,
                name=name,
                home=home,
                start_point=start_point,
                start_at=start_at,
                shift_start=shift_start,
                shift_end=shift_end,
                lunch_minutes=tech.lunch_break_minutes,
                max_overtime_minutes=tech.max_overtime_minutes,
                skills=skills,
                stock=_left_for_planning(stock, tech.pk, day.jobs),
                position_source=source,
                van=stock,
            )
        )
    return result


def _left_for_planning(stock: dict[int, int], tech_id: int, jobs: list[JobInput]) -> dict[int, int]:
    """The van's stock minus what the jobs staying with this technician will use.

    Those jobs are not the plan's to give away, so their parts are spoken for; a part their van
    lacks is the dispatcher's to sort out (a warning), never a reason to drop the job.
    """
    left = dict(stock)
    for job in jobs:
        if job.kept_by == tech_id:
            for part, quantity in job.parts.items():
                left[part] = max(0, left.get(part, 0) - quantity)
    return left


def _jobs(day: DayInput, day_end: dt.datetime, policy: Policy) -> list[JobInput]:
    in_day = Q(arrival_window_start__lt=day_end, arrival_window_end__gt=day.day_start)
    unwindowed = Q(arrival_window_start__isnull=True) & Q(status=S.NEW)
    wanted = in_day | unwindowed
    if day.is_today:
        wanted |= Q(status__in=(S.DISPATCHED, *FIXED), arrival_window_start__isnull=True)
        wanted |= Q(status__in=FIXED)  # whatever its window said, the technician is on it now
    # Plain rows, not model instances: a re-plan reads hundreds of jobs inside its 2 seconds.
    orders = list(
        WorkOrder.objects.filter(business=day.business, status__in=OPEN)
        .filter(wanted)
        .order_by("pk")
        .values(
            "pk",
            "number",
            "summary",
            "customer_id",
            "customer__display_name",
            "location__latitude",
            "location__longitude",
            "arrival_window_start",
            "arrival_window_end",
            "estimated_duration_minutes",
            "priority",
            "status",
            "assigned_technician_id",
        )
    )
    if not day.is_today:
        orders = [o for o in orders if o["status"] not in FIXED]
    ids = [o["pk"] for o in orders]
    skills: dict[int, set[int]] = defaultdict(set)
    through = WorkOrder.required_skills.through
    for wo_id, skill_id, name in through.objects.filter(workorder_id__in=ids).values_list(
        "workorder_id", "skill_id", "skill__name"
    ):
        skills[wo_id].add(skill_id)
        day.skill_names[skill_id] = name
    parts: dict[int, dict[int, int]] = defaultdict(dict)
    for wo_id, part_id, quantity, name in WorkOrderPart.objects.filter(
        work_order_id__in=ids
    ).values_list("work_order_id", "part_id", "quantity", "part__name"):
        parts[wo_id][part_id] = quantity
        day.part_names[part_id] = name
    on_site_since = dict(
        WorkOrderStatusChange.objects.filter(work_order_id__in=ids, to_status=S.ON_SITE)
        .order_by("work_order_id", "changed_at")
        .values_list("work_order_id", "changed_at")
    )  # ascending, so each order keeps its latest arrival on site
    usual = _usual_technicians(day, {o["customer_id"] for o in orders})
    jobs = []
    under_way: dict[int, int] = defaultdict(int)  # technician -> jobs under way so far
    # On site before en route, so a technician with both keeps the on-site job first.
    for order in sorted(orders, key=lambda o: (o["status"] != S.ON_SITE, o["pk"])):
        pk, status, tech = order["pk"], order["status"], order["assigned_technician_id"]
        duration = order["estimated_duration_minutes"]
        fixed_to = pinned_to = None
        rank = 0
        if status in FIXED and tech:
            fixed_to, rank = tech, under_way[tech]
            under_way[tech] += 1
            if status == S.ON_SITE and pk in on_site_since:
                # Never negative: a status stamped after `now` (a simulated clock) is not time.
                spent = max(0.0, (day.now - on_site_since[pk]).total_seconds() / 60)
                duration = max(policy.on_site_min_remaining_minutes, round(duration - spent))
        elif status == S.DISPATCHED and tech:
            pinned_to = tech
        jobs.append(
            JobInput(
                id=pk,
                number=order["number"],
                summary=order["summary"],
                customer_id=order["customer_id"],
                customer_name=order["customer__display_name"],
                point=_point(order["location__latitude"], order["location__longitude"]),
                window_start=order["arrival_window_start"],
                window_end=order["arrival_window_end"],
                duration_minutes=duration,
                skills=frozenset(skills.get(pk, ())),
                parts=parts.get(pk, {}),
                priority=order["priority"],
                status=status,
                assigned_to=tech,
                fixed_to=fixed_to,
                fixed_rank=rank,
                pinned_to=pinned_to,
                usual_technician=usual.get(order["customer_id"]),
                window_missed=bool(
                    day.is_today
                    and order["arrival_window_end"] is not None
                    and order["arrival_window_end"] <= day.now
                ),
            )
        )
    jobs.sort(key=lambda j: j.id)
    return jobs


def _usual_technicians(day: DayInput, customer_ids: set[int]) -> dict[int, int]:
    """The technician of each customer's most recent finished job (continuity preference)."""
    rows = (
        WorkOrder.objects.filter(
            business=day.business,
            customer_id__in=customer_ids,
            status__in=DONE,
            assigned_technician__isnull=False,
        )
        .order_by("customer_id", "-completed_at", "-pk")
        .values_list("customer_id", "assigned_technician_id")
    )
    usual: dict[int, int] = {}
    for customer_id, tech_id in rows:
        usual.setdefault(customer_id, tech_id)
    return usual
