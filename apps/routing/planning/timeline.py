"""Clock times for a technician's ordered stops: ETAs, waiting, lunch, overtime.

The solver plans with drive times that hold all day (the slowest traffic of the period); here
each leg gets the drive time of its actual departure, so rush hour lengthens the morning legs
and a midday leg is quicker. Since no leg takes longer than the solver assumed, every window
the solver met is still met. Lunch is placed afterwards where it breaks no window: in a wait
if there is one, else where it delays the rest of the day least; if nowhere fits it is skipped
and flagged.
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
        return [s for s in self.stops if s.job.window_end and s.service_start > s.job.window_end]


def _walk(
    matrix: TravelMatrix,
    locate,
    tech: TechInput,
    jobs: Sequence[JobInput],
    start_at: dt.datetime,
    start_point,
    lunch: tuple[int, dt.datetime, int] | None = None,
) -> Timeline:
    """lunch = (position, earliest start, minutes): taken before stop `position`."""
    clock, here = start_at, locate(start_point)
    stops, drive, metres = [], 0.0, 0.0
    lunch_start = None
    for position, job in enumerate([*jobs, None]):
        if lunch is not None and lunch[0] == position:
            lunch_start = max(clock, lunch[1])
            clock = lunch_start + dt.timedelta(minutes=lunch[2])
        there = locate(job.point if job else tech.home)
        leg = matrix.leg_seconds(here, there, clock)
        drive += leg
        metres += float(matrix.distances[here, there])
        arrival = clock + dt.timedelta(seconds=leg)
        if job is None:
            clock = arrival
            break
        waits = job.window_start and job.status != "on_site"  # on site: already working
        begin = max(arrival, job.window_start) if waits else arrival
        clock = begin + dt.timedelta(minutes=job.duration_minutes)
        stops.append(
            Stop(
                job=job,
                eta=arrival,
                service_start=begin,
                departure=clock,
                drive_seconds=leg,
                distance_m=float(matrix.distances[here, there]),
                wait_seconds=(begin - arrival).total_seconds(),
                fixed=job.fixed_to == tech.id,
            )
        )
        here = there
    return Timeline(
        tech=tech,
        start_at=start_at,
        stops=stops,
        end_at=clock,
        drive_seconds=drive,
        distance_m=metres,
        lunch_start=lunch_start,
        lunch_minutes=lunch[2] if lunch else 0,
    )


def _ok(timeline: Timeline, original: Timeline) -> bool:
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
) -> Timeline:
    start_at = start_at or tech.start_at
    start_point = start_point or tech.start_point
    base = _walk(matrix, locate, tech, jobs, start_at, start_point)
    minutes = tech.lunch_minutes if lunch_minutes is None else lunch_minutes
    if not jobs or minutes <= 0:
        return base
    lunch_from = dt.datetime.combine(day.date, policy.lunch_from).replace(tzinfo=day.tz)
    lunch_until = dt.datetime.combine(day.date, policy.lunch_until).replace(tzinfo=day.tz)
    if base.end_at <= lunch_from or start_at >= lunch_until:
        return base  # the working day does not reach the lunch period
    best = None
    first_movable = 1 if jobs[0].fixed_to == tech.id else 0
    for position in range(first_movable, len(jobs) + 1):
        before = base.stops[position - 1].departure if position else start_at
        if max(before, lunch_from) > lunch_until:
            break
        candidate = _walk(
            matrix, locate, tech, jobs, start_at, start_point, (position, lunch_from, minutes)
        )
        if _ok(candidate, base) and (best is None or candidate.end_at < best.end_at):
            best = candidate
    if best is None:
        base.lunch_skipped = True
        return base
    return best
