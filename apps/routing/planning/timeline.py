"""Clock times for a technician's ordered stops: ETAs, waiting, lunch, overtime.

The solver plans with drive times that hold all day (the slowest traffic of the period); here
each leg gets the drive time of its actual departure, so rush hour lengthens the morning legs
and a midday leg is quicker. Since no leg takes longer than the solver assumed, every window
the solver met is still met. Lunch goes where the solver planned it (it is a visit of the
route, see build._lunch_visits) if the real drive times allow, else where it breaks no window
and delays the rest of the day least; if nowhere fits it is skipped and flagged.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from apps.routing.travel import TravelMatrix

from .inputs import DayInput, JobInput, TechInput
from .policy import Policy


@dataclasses.dataclass
class Stop:
    job: JobInput
    eta: dt.datetime
    service_start: dt.datetime
    departure: dt.datetime
    drive_seconds: float
    distance_m: float
    wait_seconds: float
    fixed: bool


@dataclasses.dataclass
class Timeline:
    tech: TechInput
    start_at: dt.datetime
    stops: list[Stop]
    end_at: dt.datetime
    drive_seconds: float
    distance_m: float
    lunch_start: dt.datetime | None = None
    lunch_minutes: int = 0
    lunch_skipped: bool = False

    @property
    def overtime_minutes(self) -> int:
        return max(0, round((self.end_at - self.tech.shift_end).total_seconds() / 60))

    def late_stops(self) -> list[Stop]:
        # A window already missed when planning no longer binds (the job is planned as soon
        # as possible); it is shown as missed, not counted as a stop the plan makes late.
        return [s for s in self.stops if s.job.has_window and s.service_start > s.job.window_end]


@dataclasses.dataclass(frozen=True)
class Lunch:
    position: int  # taken between stop position-1 and stop position
    earliest: dt.datetime
    latest: dt.datetime  # latest start
    minutes: int
    # True: drive to the next stop first and eat at its door (in the wait for its window, if
    # any); never later than eating before the drive, except when it pushes lunch past `latest`.
    at_next: bool


def _walk(
    matrix: TravelMatrix,
    locate,
    tech: TechInput,
    jobs: Sequence[JobInput],
    start_at: dt.datetime,
    start_point,
    lunch: Lunch | None = None,
) -> Timeline | None:
    """The clock along the stops; None if the lunch cannot start inside its period."""
    clock, here = start_at, locate(start_point)
    stops, drive, metres = [], 0.0, 0.0
    lunch_start = None
    pause = dt.timedelta(minutes=lunch.minutes) if lunch else dt.timedelta(0)
    for position, job in enumerate([*jobs, None]):
        here_now = lunch is not None and lunch.position == position
        if here_now and (not lunch.at_next or job is None):
            lunch_start = max(clock, lunch.earliest)
            clock = lunch_start + pause
        there = locate(job.point if job else tech.home)
        leg = matrix.leg_seconds(here, there, clock)
        drive += leg
        metres += float(matrix.distances[here, there])
        arrival = clock + dt.timedelta(seconds=leg)
        if job is None:
            clock = arrival
            break
        ready, lunch_here = arrival, here_now and lunch.at_next
        if lunch_here:
            lunch_start = max(arrival, lunch.earliest)
            ready = lunch_start + pause
        waits = job.window_start and job.status != "on_site"  # on site: already working
        begin = max(ready, job.window_start) if waits else ready
        clock = begin + dt.timedelta(minutes=job.duration_minutes)
        stops.append(
            Stop(
                job=job,
                eta=arrival,
                service_start=begin,
                departure=clock,
                drive_seconds=leg,
                distance_m=float(matrix.distances[here, there]),
                wait_seconds=(
                    begin - arrival - (pause if lunch_here else dt.timedelta(0))
                ).total_seconds(),
                fixed=job.fixed_to == tech.id,
            )
        )
        here = there
    if lunch is not None and (lunch_start is None or lunch_start > lunch.latest):
        return None
    return Timeline(
        tech=tech,
        start_at=start_at,
        stops=stops,
        end_at=clock,
        drive_seconds=drive,
        distance_m=metres,
        lunch_start=lunch_start,
        lunch_minutes=lunch.minutes if lunch else 0,
    )


def _ok(timeline: Timeline | None, original: Timeline) -> bool:
    if timeline is None:
        return False
    if timeline.end_at > max(timeline.tech.latest_end, original.end_at):
        return False
    return len(timeline.late_stops()) <= len(original.late_stops())


def timeline_for(
    *,
    day: DayInput,
    policy: Policy,
    matrix: TravelMatrix,
    locate,
    tech: TechInput,
    jobs: Sequence[JobInput],
    start_at: dt.datetime | None = None,
    start_point=None,
    lunch_minutes: int | None = None,
    planned_lunch: int | None = None,
) -> Timeline:
    """The day's clock. `planned_lunch`: the solver put lunch before this job (len(jobs):
    after the last); it is kept there if the real drive times allow, else the best other
    slot is used."""
    start_at = start_at or tech.start_at
    start_point = start_point or tech.start_point
    base = _walk(matrix, locate, tech, jobs, start_at, start_point)
    minutes = tech.lunch_minutes if lunch_minutes is None else lunch_minutes
    if not jobs or minutes <= 0:
        return base
    lunch_from = dt.datetime.combine(day.date, policy.lunch_from).replace(tzinfo=day.tz)
    lunch_until = dt.datetime.combine(day.date, policy.lunch_until).replace(tzinfo=day.tz)
    latest = lunch_until - dt.timedelta(minutes=minutes)
    if base.end_at <= lunch_from or start_at > latest:
        return base  # the working day does not reach the lunch period
    first_movable = sum(1 for job in jobs if job.fixed_to == tech.id)  # they open the route

    def attempt(position: int, at_next: bool) -> Timeline | None:
        candidate = _walk(
            matrix,
            locate,
            tech,
            jobs,
            start_at,
            start_point,
            Lunch(position, max(lunch_from, start_at), latest, minutes, at_next),
        )
        return candidate if _ok(candidate, base) else None

    if planned_lunch is not None and planned_lunch >= first_movable:
        for at_next in (True, False):
            kept = attempt(planned_lunch, at_next)
            if kept is not None:
                return kept
    best = None
    for position in range(first_movable, len(jobs) + 1):
        before = base.stops[position - 1].departure if position else start_at
        if max(before, lunch_from) > latest:
            break
        for at_next in (True, False) if position < len(jobs) else (False,):
            candidate = attempt(position, at_next)
            if candidate is not None and (best is None or candidate.end_at < best.end_at):
                best = candidate
    if best is None:
        base.lunch_skipped = True
        return base
    return best
