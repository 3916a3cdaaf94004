"""What each demo work order will be: day, job type, place, technician, window, status path, times.

Planning draws every random choice; walking (work_orders.py) only replays the plan through the
services, so the two concerns stay apart and the plan alone decides what the seed produces.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
from collections import defaultdict

from apps.core.models import Priority, ServiceLocation, Technician, WorkOrderStatus

from .catalog import JobType

S = WorkOrderStatus
MINUTE = dt.timedelta(minutes=1)

# Arrival windows (local hours): 2 to 4 hours inside business hours, 7:00 to 18:00.
WINDOWS = [(7, 10), (8, 10), (8, 12), (9, 12), (10, 12), (10, 14), (12, 14), (12, 16), (13, 15),
           (13, 17), (14, 17), (15, 18)]  # fmt: skip
EARLY_WINDOWS = [w for w in WINDOWS if w[0] <= 9]
PAST_MIX = {S.PAID: 46, S.INVOICED: 20, S.COMPLETED: 9, S.CANCELLED: 9, S.ON_HOLD: 5, S.NEW: 3}
TODAY_MIX = {S.COMPLETED: 12, S.INVOICED: 4, S.PAID: 4, S.ON_SITE: 12, S.EN_ROUTE: 10,
             S.DISPATCHED: 24, S.SCHEDULED: 14, S.NEW: 10, S.ON_HOLD: 5, S.CANCELLED: 5}  # fmt: skip
FUTURE_MIX = {S.SCHEDULED: 68, S.NEW: 18, S.ON_HOLD: 7, S.CANCELLED: 7}
# Planned first, so every status and today's emergencies are always present: (day, status, emergency).
MANDATORY = [
    (0, S.NEW, True), (0, S.DISPATCHED, True), (0, S.EN_ROUTE, True), (0, S.ON_SITE, False),
    (0, S.COMPLETED, False), (0, S.DISPATCHED, False), (0, S.SCHEDULED, False),
    (-1, S.PAID, False), (-2, S.INVOICED, False), (-1, S.COMPLETED, False),
    (-3, S.CANCELLED, False), (-2, S.ON_HOLD, False), (-4, S.PAID, True),
    (1, S.SCHEDULED, False), (2, S.NEW, False), (3, S.SCHEDULED, False),
]  # fmt: skip
IN_PROGRESS_TODAY = {S.EN_ROUTE, S.ON_SITE, S.COMPLETED, S.INVOICED, S.PAID}
HEATING, COOLING = {"furnace", "boiler"}, {"air_conditioner", "heat_pump", "mini_split"}


@dataclasses.dataclass
class Job:
    kind: JobType
    day: dt.date
    status: str
    priority: str
    location: ServiceLocation
    technician: Technician | None
    window: tuple[dt.datetime, dt.datetime] | None
    path: list[str]  # transitions after "new", in order
    times: list[dt.datetime]  # created_at, then one time per transition


def plan_jobs(
    rng: random.Random,
    *,
    count: int,
    today: dt.date,
    now: dt.datetime,
    job_types: list[JobType],
    technicians: list[Technician],
    tech_skills: dict[int, set[str]],
    locations_by_kind: dict[str, list[ServiceLocation]],
) -> list[Job]:
    offsets = list(range(-14, 6))
    day_weights = [_day_weight(today, o) for o in offsets]
    wanted = [m for m in MANDATORY if m[0] in offsets][:count]
    while len(wanted) < count:
        offset = rng.choices(offsets, day_weights)[0]
        mix = PAST_MIX if offset < 0 else TODAY_MIX if offset == 0 else FUTURE_MIX
        wanted.append((offset, rng.choices(list(mix), list(mix.values()))[0], None))
    qualified = {
        jt.summary: [t for t in technicians if set(jt.skills) <= tech_skills[t.pk]]
        for jt in job_types
    }
    load: dict[tuple[int, dt.date], int] = defaultdict(int)  # minutes booked per tech and day
    jobs = []
    for offset, status, emergency in wanted:
        day = today + dt.timedelta(days=offset)
        kind = _pick_kind(rng, job_types, today, emergency)
        urgent = emergency or (emergency is None and kind.emergency and rng.random() < 0.3)
        priority = (
            Priority.EMERGENCY
            if urgent
            else (Priority.HIGH if rng.random() < 0.12 else Priority.NORMAL)
        )
        path = _path(rng, status, urgent)
        window = _window(rng, day, status, urgent, offset == 0, now, path)
        technician = None
        needs_tech = S.DISPATCHED in path or S.ON_SITE in path
        if window and (needs_tech or rng.random() < (0.85 if S.SCHEDULED in path else 0.25)):
            technician = _pick_technician(rng, qualified[kind.summary], window, kind, load)
        places = locations_by_kind.get(kind.equipment) or locations_by_kind[""]
        jobs.append(
            Job(
                kind=kind,
                day=day,
                status=status,
                priority=priority,
                technician=technician,
                location=rng.choice(places),
                window=window,
                path=path,
                times=_timeline(rng, day, window, path, urgent, kind.minutes, now),
            )
        )
    return jobs


def _day_weight(today: dt.date, offset: int) -> float:
    weekday = (today + dt.timedelta(days=offset)).weekday()
    weight = 1.0 if weekday < 5 else 0.4 if weekday == 5 else 0.15
    if offset == 0:
        weight = 1.3  # busy whatever the weekday: today's board is what a demo shows first
    elif offset > 0:
        weight *= 1 - 0.12 * offset  # the book fills up as the day comes closer
    return weight


def _pick_kind(rng, job_types: list[JobType], today: dt.date, emergency: bool | None) -> JobType:
    if emergency:
        return rng.choice([jt for jt in job_types if jt.emergency])
    heating_season = today.month in (10, 11, 12, 1, 2, 3, 4)
    weights = [_season_weight(jt.equipment, heating_season) for jt in job_types]
    return rng.choices(job_types, weights)[0]


def _season_weight(equipment: str, heating_season: bool) -> int:
    """Furnaces fail in winter and air conditioners in summer; plumbing and wiring all year."""
    if equipment not in HEATING | COOLING:
        return 2
    return 3 if (equipment in HEATING) == heating_season else 1


def _path(rng, status: str, emergency: bool) -> list[str]:
    if status == S.NEW:
        return [S.CANCELLED, S.NEW] if rng.random() < 0.05 else []  # reopened after a cancel
    if status == S.CANCELLED:
        return rng.choice([[S.CANCELLED], [S.SCHEDULED, S.CANCELLED],
                           [S.SCHEDULED, S.DISPATCHED, S.CANCELLED]])  # fmt: skip
    if status == S.ON_HOLD:
        return rng.choice([[S.SCHEDULED, S.ON_HOLD],
                           [S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE, S.ON_HOLD]])  # fmt: skip
    start = [S.SCHEDULED, S.DISPATCHED]
    detour = rng.random()
    if emergency:
        start = [S.DISPATCHED]  # no scheduling step: the office sends someone now
    elif detour < 0.05:
        start = [S.SCHEDULED, S.ON_HOLD, S.SCHEDULED, S.DISPATCHED]
    elif detour < 0.10:
        start = [S.SCHEDULED, S.DISPATCHED, S.SCHEDULED, S.DISPATCHED]  # rescheduled
    full = [*start, S.EN_ROUTE, S.ON_SITE, S.COMPLETED, S.INVOICED, S.PAID]
    if status == S.SCHEDULED:
        return [S.SCHEDULED] if emergency else start[:-1]
    return full[: len(full) - full[::-1].index(status)]


def _window(rng, day, status, urgent, is_today, now, path):
    if not path and status == S.NEW and not urgent and rng.random() < 0.6:
        return None  # not booked yet: the office still has to call the customer back
    tz = now.tzinfo
    if urgent and is_today and status not in IN_PROGRESS_TODAY - {S.EN_ROUTE, S.ON_SITE}:
        # An open emergency today: the two hours from about now.
        start = now.replace(minute=now.minute // 30 * 30, second=0, microsecond=0)
        start -= dt.timedelta(minutes=rng.choice((0, 30, 60)))
        start = max(start, dt.datetime.combine(day, dt.time(0), tz))  # still today after midnight
        return start, start + dt.timedelta(hours=2)
    if urgent:
        start = dt.datetime.combine(day, dt.time(rng.randint(6, 20), rng.choice((0, 30))), tz)
        return start, start + dt.timedelta(hours=2)
    early = is_today and status in IN_PROGRESS_TODAY
    first, last = rng.choice(EARLY_WINDOWS if early else WINDOWS)
    return (
        dt.datetime.combine(day, dt.time(first), tz),
        dt.datetime.combine(day, dt.time(last), tz),
    )


def _pick_technician(rng, candidates, window, kind: JobType, load) -> Technician | None:
    """The least-booked qualified technician whose shift covers the window's start."""
    start = window[0].time()
    on_shift = [t for t in candidates if t.shift_start <= start < t.shift_end] or candidates
    if not on_shift:
        return None
    order = rng.sample(on_shift, len(on_shift))  # random tie-break, still deterministic
    chosen = min(order, key=lambda t: load[(t.pk, window[0].date())])
    load[(chosen.pk, window[0].date())] += kind.minutes
    return chosen


def _timeline(rng, day, window, path, urgent, minutes, now) -> list[dt.datetime]:
    """When each step happened: created, then every transition, strictly increasing, never after now."""
    tz = now.tzinfo
    anchor = window[0] if window else dt.datetime.combine(day, dt.time(9), tz)
    if urgent:
        created = anchor - dt.timedelta(minutes=rng.randint(10, 50))
    else:
        booked = day - dt.timedelta(days=rng.randint(1, 7))
        created = dt.datetime.combine(booked, dt.time(rng.randint(7, 17), rng.randint(0, 59)), tz)
    times, prev = [created], created
    for i, step in enumerate(path):
        after = path[i - 1] if i else S.NEW
        if step == S.DISPATCHED and not urgent:
            at = max(prev, anchor - dt.timedelta(minutes=rng.randint(45, 120)))
        elif step == S.EN_ROUTE:
            at = max(prev, anchor + dt.timedelta(minutes=rng.randint(-20, 40)))
        elif step == S.ON_SITE:
            at = prev + dt.timedelta(minutes=rng.randint(15, 45))
        elif step == S.COMPLETED:
            at = prev + dt.timedelta(minutes=round(minutes * rng.uniform(0.7, 1.3)))
        elif step == S.INVOICED:
            at = prev + dt.timedelta(minutes=rng.choice((10, 30, 240, 1440)))
        elif step == S.PAID:
            at = prev + dt.timedelta(minutes=rng.choice((5, 60, 1440, 4320, 8640)))
        elif step in (S.ON_HOLD, S.CANCELLED, S.NEW) or after == S.ON_HOLD:
            at = prev + dt.timedelta(minutes=rng.randint(30, 1440))
        else:
            at = prev + dt.timedelta(minutes=rng.randint(3, 40))
        times.append(at)
        prev = at
    # Nothing has happened in the future: pull late steps back, keeping their order.
    limit = now - MINUTE
    for i in range(len(times) - 1, -1, -1):
        times[i] = min(times[i], limit)
        limit = times[i] - MINUTE
    return times
