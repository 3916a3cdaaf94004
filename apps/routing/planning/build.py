"""Planning inputs -> the neutral solver problem, and the jobs no one could take.

Hard rules become eligibility (a job only goes to a technician with every required skill and
enough of every required part in the van), windows and shifts. Soft rules become prizes
(emergencies above promised windows above the backlog), discounts (the customer's usual
technician, today's technician) and the overtime price.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from apps.integrations.errors import ProviderError
from apps.routing.solver import Problem, Vehicle, Visit
from apps.routing.travel import Choice, LatLng, TravelMatrix

from .explain import TIMES, Refusal, kept, refusal
from .inputs import DayInput, JobInput, TechInput, eligible
from .policy import Policy

__all__ = ["DayProblem", "Refusal", "anchor_lunches", "build", "eligible"]


@dataclasses.dataclass
class DayProblem:
    day: DayInput
    policy: Policy
    problem: Problem
    matrix: TravelMatrix
    point_index: dict[tuple[float, float], int]
    jobs: list[JobInput]  # visit i is jobs[i]
    techs: list[TechInput]  # vehicle k is techs[k]
    refused: list[Refusal]
    part_dimensions: list[int]  # part id per load dimension
    travel_note: str = ""
    neutral_rows: np.ndarray | None = None  # travel-matrix point behind each problem location
    # Vehicle -> index of its lunch visit (after the job visits); technicians with no lunch
    # left to take have none.
    lunch_visits: dict[int, int] = dataclasses.field(default_factory=dict)

    def loc(self, point: LatLng) -> int:
        return self.point_index[point.rounded()]

    def visit_of_job(self) -> dict[int, int]:
        return {job.id: i for i, job in enumerate(self.jobs)}

    def is_job(self, visit: int) -> bool:
        return visit < len(self.jobs)


def build(day: DayInput, policy: Policy, travel: Choice) -> DayProblem:
    refused, jobs = [], []
    working = {t.id: t for t in day.technicians}
    for job in day.jobs:
        if job.kept_by is not None:
            # Under way or dispatched: it stays with its technician, so no eligibility question;
            # without a route for that technician it is listed as kept, never given away.
            tech = working.get(job.kept_by)
            if tech is None or job.point is None:
                refused.append(kept(day, job))
                continue
            jobs.append(job)
            if job.fixed_to is None and not eligible(
                dataclasses.replace(tech, stock=tech.van), job
            ):
                day.warnings.append(_short_of(day, tech, job))
            continue
        reason = refusal(day, job)
        if reason:
            refused.append(reason)
        else:
            jobs.append(job)
    techs = list(day.technicians)
    points: dict[tuple[float, float], LatLng] = {}
    for p in [*(t.start_point for t in techs), *(t.home for t in techs), *(j.point for j in jobs)]:
        points.setdefault(p.rounded(), p)
    ordered = list(points.values())
    point_index = {p.rounded(): i for i, p in enumerate(ordered)}
    matrix, note = _matrix(day, travel, ordered, techs)
    dp = DayProblem(
        day=day,
        policy=policy,
        problem=None,  # type: ignore[arg-type]  (set below)
        matrix=matrix,
        point_index=point_index,
        jobs=jobs,
        techs=techs,
        refused=refused,
        part_dimensions=_binding_parts(techs, jobs),
        travel_note=note,
    )
    dp.problem = _problem(dp) if dp.techs and dp.jobs else None
    return dp


def _short_of(day: DayInput, tech: TechInput, job: JobInput) -> str:
    missing = [day.skill_names.get(s, str(s)) for s in sorted(job.skills - tech.skills)]
    parts = [
        f"{qty - tech.van.get(p, 0)} {TIMES} {day.part_names.get(p, str(p))}"
        for p, qty in sorted(job.parts.items())
        if tech.van.get(p, 0) < qty
    ]
    lacks = "; ".join(
        x
        for x in (
            missing and "the " + ", ".join(f"'{m}'" for m in missing) + " skill",
            parts and ", ".join(parts) + " on the van",
        )
        if x
    )
    return f"{job.number} was dispatched to {tech.name}, who lacks {lacks}."


def _matrix(day: DayInput, travel: Choice, points: list[LatLng], techs: list[TechInput]):
    if not techs:
        return travel.fallback.matrix(points, departure=day.now), ""
    departure = min(t.start_at for t in techs)
    until = max(t.latest_end for t in techs)
    try:
        return travel.provider.matrix(points, departure=departure, until=until), ""
    except ProviderError as exc:
        # A plan with estimated drive times beats no plan; the dispatcher sees why.
        note = f"{travel.provider.source} failed ({exc}); drive times are estimated."
        return travel.fallback.matrix(points, departure=departure, until=until), note


def _binding_parts(techs: list[TechInput], jobs: list[JobInput]) -> list[int]:
    """Parts where some van could run out if it took every job it qualifies for.

    Only those need a load dimension; for the rest, eligibility alone keeps the plan honest.
    """
    binding = []
    jobs = [j for j in jobs if j.kept_by is None]  # their parts are set aside already
    for part in sorted({p for j in jobs for p in j.parts}):
        for tech in techs:
            demand = sum(j.parts.get(part, 0) for j in jobs if eligible(tech, j))
            if tech.stock.get(part, 0) < demand:
                binding.append(part)
                break
    return binding


def _problem(dp: DayProblem) -> Problem:
    """Locations of the neutral problem: one per vehicle end point, then one per visit.

    Giving every visit its own row lets each leg carry the drive time of the hours it can
    happen in (a 10-12 job to a 12-14 job never meets the evening rush), which keeps the
    solver honest about traffic without reserving rush-hour times all day.
    """
    day, policy = dp.day, dp.policy
    ends: dict[tuple[float, float], LatLng] = {}
    for tech in dp.techs:
        ends.setdefault(tech.start_point.rounded(), tech.start_point)
        ends.setdefault(tech.home.rounded(), tech.home)
    end_points = list(ends.values())
    end_index = {p.rounded(): i for i, p in enumerate(end_points)}
    n_ends = len(end_points)
    horizon_start = min(day.seconds(t.start_at) for t in dp.techs)
    horizon_end = max(day.seconds(t.latest_end) for t in dp.techs)
    depart_after = np.full(n_ends + len(dp.jobs), horizon_start)
    arrive_before = np.full(n_ends + len(dp.jobs), horizon_end)
    for tech in dp.techs:
        row = end_index[tech.start_point.rounded()]
        depart_after[row] = min(depart_after[row], day.seconds(tech.start_at))
    for i, job in enumerate(dp.jobs):
        if job.fixed_to is not None:
            # Under way: reached within the next couple of hours, whatever its window said.
            arrive_before[n_ends + i] = min(horizon_end, horizon_start + 2 * 3600)
        elif job.has_window:
            depart_after[n_ends + i] = max(horizon_start, day.seconds(job.window_start))
            arrive_before[n_ends + i] = min(horizon_end, day.seconds(job.window_end))
        depart_after[n_ends + i] += job.duration_minutes * 60
    rows = np.array(
        [dp.loc(p) for p in end_points] + [dp.loc(job.point) for job in dp.jobs], dtype=np.int64
    )
    durations = dp.matrix.bounded_durations(
        rows, rows, depart_after, np.maximum(arrive_before, depart_after), day.day_start
    )
    np.fill_diagonal(durations, 0.0)
    dp.neutral_rows = rows
    vehicles = []
    for tech in dp.techs:
        start, end = day.seconds(tech.start_at), day.seconds(tech.shift_end)
        latest_end = day.seconds(tech.latest_end)
        done = _under_way_done(dp, tech, durations, n_ends, end_index)
        if done is not None:
            # Jobs under way that run past the end of the day still have to be finished.
            finish, row = done
            latest_end = max(latest_end, finish + durations[row, end_index[tech.home.rounded()]])
        # A lunch the solver plans is a visit of the route (its minutes count as working time);
        # one it cannot plan is reserved out of the shift as before.
        lunch = (
            0
            if _lunch_window(dp, tech, durations, n_ends, end_index)
            else _lunch_ahead(day, policy, tech)
        )
        preferred = {}
        for i, job in enumerate(dp.jobs):
            bonus = 0.0
            if job.usual_technician == tech.id:
                bonus += policy.continuity_bonus_seconds
            if job.assigned_to == tech.id:
                bonus += policy.keep_assignment_bonus_seconds
            if bonus:
                preferred[i] = bonus
        vehicles.append(
            Vehicle(
                key=tech.id,
                start=end_index[tech.start_point.rounded()],
                end=end_index[tech.home.rounded()],
                earliest_start=start,
                latest_start=start,  # paid from shift start: overtime counts from there
                latest_end=latest_end,
                capacity=tuple(tech.stock.get(p, 0) for p in dp.part_dimensions),
                max_duration=max(0.0, end - start - lunch * 60),
                max_overtime=_overtime(tech, start, end, lunch, latest_end, day),
                overtime_cost=policy.overtime_weight,
                preferred=preferred,
            )
        )
    index_of_tech = {t.id: k for k, t in enumerate(dp.techs)}
    visits = [
        _visit(dp, i, job, index_of_tech, durations, n_ends, end_index)
        for i, job in enumerate(dp.jobs)
    ]
    coords = [(p.lng, p.lat) for p in end_points] + [(j.point.lng, j.point.lat) for j in dp.jobs]
    lunches = _lunch_visits(dp, durations, n_ends, end_index, first_location=len(rows))
    if lunches:
        # Breaks are taken where the technician is: zero travel in and out (see _lunch_visits).
        size = len(rows) + len(lunches)
        grown = np.zeros((size, size))
        grown[: len(rows), : len(rows)] = durations
        grown[len(rows) :, : len(rows)] = _typical_leg_into(durations)
        durations = grown
        for visit in lunches:
            home = dp.techs[next(iter(visit.vehicles))].home
            coords.append((home.lng, home.lat))
        dp.lunch_visits = {next(iter(v.vehicles)): len(visits) + m for m, v in enumerate(lunches)}
        visits.extend(lunches)
    return Problem(
        visits=tuple(visits),
        vehicles=tuple(vehicles),
        distances=durations,  # minimise drive time; metres are reported, not optimised
        durations=durations,
        scale=1.0,
        name=f"{day.business.slug} {day.date}",
        coordinates=np.array(coords),
    )


def _overtime(tech: TechInput, start, end, lunch, latest_end, day: DayInput) -> float:
    allowed = tech.max_overtime_minutes * 60 + max(0.0, start - end)
    if latest_end > day.seconds(tech.latest_end):  # stretched for a job under way
        allowed = max(allowed, latest_end - start - max(0.0, end - start - lunch * 60))
    return allowed


def _lunch_window(dp: DayProblem, tech: TechInput, durations, n_ends, end_index):
    """(earliest, latest) start of the technician's lunch in seconds, or None if the solver
    cannot plan one (no lunch configured, or the lunch period is over before work allows)."""
    day, policy = dp.day, dp.policy
    minutes = _lunch_ahead(day, policy, tech)
    if minutes <= 0:
        return None
    earliest = max(day.seconds(tech.start_at), _clock_seconds(day, policy.lunch_from))
    latest = _clock_seconds(day, policy.lunch_until) - minutes * 60
    done = _under_way_done(dp, tech, durations, n_ends, end_index)
    if done is not None:
        earliest = max(earliest, done[0])  # the jobs under way are finished first
    return (earliest, latest) if earliest <= latest else None


def under_way(dp: DayProblem, tech: TechInput) -> list[int]:
    """Indices of the technician's jobs under way, in the order they must be finished."""
    chain = [(j.fixed_rank, i) for i, j in enumerate(dp.jobs) if j.fixed_to == tech.id]
    return [i for _, i in sorted(chain)]


def _under_way_done(dp: DayProblem, tech: TechInput, durations, n_ends, end_index):
    """(seconds, matrix row) when and where the technician finishes the jobs under way, or
    None if there are none."""
    chain = under_way(dp, tech)
    if not chain:
        return None
    clock, here = dp.day.seconds(tech.start_at), end_index[tech.start_point.rounded()]
    for i in chain:
        clock += durations[here, n_ends + i] + dp.jobs[i].duration_minutes * 60
        here = n_ends + i
    return clock, here


def _lunch_visits(dp: DayProblem, durations, n_ends, end_index, *, first_location: int):
    """One lunch visit per technician who still has a lunch to take, only for their van.

    PyVRP 0.12 has no breaks, so lunch is a client with the lunch period as its window and
    the lunch minutes as its service time, and zero travel to and from every location. Exact
    would be "job -> lunch -> next costs job -> next", which no fixed matrix row can give (the
    leg out of lunch would have to depend on where the technician came from). Zero both ways
    is the optimistic choice: the solver's clock misses at most the one leg driven around
    lunch. The timeline then takes lunch at the next stop's door (driving first, eating in a
    wait if there is one), which is never later than eating before driving, and falls back
    to another slot, or flags the lunch, if the real leg breaks a window.
    """
    lunches = []
    for k, tech in enumerate(dp.techs):
        window = _lunch_window(dp, tech, durations, n_ends, end_index)
        if window is None:
            continue
        lunches.append(
            Visit(
                key=("lunch", tech.id),
                location=first_location + len(lunches),
                service=_lunch_ahead(dp.day, dp.policy, tech) * 60.0,
                early=window[0],
                late=window[1],
                demand=(0,) * len(dp.part_dimensions),
                prize=dp.policy.lunch_prize,
                vehicles=frozenset({k}),
                is_break=True,
            )
        )
    return lunches


def anchor_lunches(dp: DayProblem, routes) -> Problem:
    """The problem with every lunch moved to a real spot: the stop before it when it is on a
    route, else the stop the technician is at when the lunch period closes.

    Lunch then costs exactly what it costs in that spot (previous stop -> lunch is zero, lunch
    -> next stop is the real leg). The first solve guesses the leg out of lunch; this one,
    seeded with that solution (or with today's plan on a re-plan), prices it exactly as long
    as lunch stays where it is, and honestly (a drive to that spot and on) if it moves. A
    lunch left out of the seed is anchored too: with its guessed pricing (zero in, a short leg
    out) the search could put it between two far-apart stops as a shortcut, and the timeline,
    which drives the real leg, would reach the next customer after the window.
    """
    problem = dp.problem
    lunches = set(dp.lunch_visits.values())
    visits = list(problem.visits)
    placed: set[int] = set()
    for route in routes:
        for position, i in enumerate(route.visits):
            if i not in lunches:
                continue
            if position:
                anchor = problem.visits[route.visits[position - 1]].location
            else:
                anchor = problem.vehicles[route.vehicle].start
            visits[i] = dataclasses.replace(visits[i], location=anchor)
            placed.add(i)
    jobs_of = {r.vehicle: [i for i in r.visits if i not in lunches] for r in routes}
    for k, lunch in dp.lunch_visits.items():
        if lunch not in placed:
            anchor = _stop_at(problem, k, jobs_of.get(k, []), problem.visits[lunch].late)
            visits[lunch] = dataclasses.replace(visits[lunch], location=anchor)
    return dataclasses.replace(problem, visits=tuple(visits))


def _stop_at(problem: Problem, k: int, visits: list[int], moment: float) -> int:
    """Location of the last stop the vehicle has left by `moment` (its start if none)."""
    vehicle = problem.vehicles[k]
    clock = max(vehicle.earliest_start, vehicle.latest_start or vehicle.earliest_start)
    here = vehicle.start
    for i in visits:
        visit = problem.visits[i]
        clock = max(clock + problem.durations[here, visit.location], visit.early) + visit.service
        if clock > moment:
            break
        here = visit.location
    return here


def _typical_leg_into(durations: np.ndarray) -> np.ndarray:
    """Per location, a short leg into it: the second-nearest other location's drive time.

    Used as the leg out of lunch: in a good route the leg into a stop is usually one of its
    shortest, so this is rarely far from the real leg driven around lunch, and it keeps the
    solver from treating the lunch hour as free driving.
    """
    off = durations + np.diag(np.full(len(durations), np.inf))
    k = min(1, len(durations) - 2)
    if k < 0:
        return np.zeros(len(durations))
    return np.partition(off, k, axis=0)[k]


def _clock_seconds(day: DayInput, time: dt.time) -> float:
    return day.seconds(dt.datetime.combine(day.date, time).replace(tzinfo=day.tz))


def _lunch_ahead(day: DayInput, policy: Policy, tech: TechInput) -> int:
    """Lunch minutes still to take: none if the lunch period is over before the day starts."""
    lunch_end = dt.datetime.combine(day.date, policy.lunch_until).replace(tzinfo=day.tz)
    return tech.lunch_minutes if tech.start_at < lunch_end else 0


def _visit(dp: DayProblem, i: int, job: JobInput, index_of_tech, durations, n_ends, end_index):
    day, policy = dp.day, dp.policy
    early, late = 0.0, float("inf")
    if job.has_window:  # a window already missed today no longer binds: as soon as possible
        early, late = day.seconds(job.window_start), day.seconds(job.window_end)
    factor = policy.high_priority_factor if job.priority == "high" else 1.0
    prize = (policy.promised_prize if job.window_start else policy.backlog_prize) * factor
    vehicles = frozenset(k for k, t in enumerate(dp.techs) if eligible(t, job))
    demand = tuple(job.parts.get(p, 0) for p in dp.part_dimensions)
    first_on, rank = None, 0
    if job.fixed_to is not None:
        # Required: the technician is on it, whatever it costs (the vehicle's day is stretched
        # to fit it, see _problem), so the search can never trade it for other jobs.
        first_on, rank, vehicles = index_of_tech[job.fixed_to], job.fixed_rank, None
        # On site: working now, the window no longer matters. En route and early: the
        # customer still expects them from the window's start, so they wait.
        prize, late = None, float("inf")
        early = 0.0 if job.status == "on_site" else early
        demand = (0,) * len(dp.part_dimensions)  # its parts were set aside from the van
    elif job.pinned_to is not None:
        # Dispatched: only its technician, worth more than any job the search could trade it
        # for. If it still does not fit, the plan lists it as kept, never as given away.
        vehicles = frozenset({index_of_tech[job.pinned_to]})
        prize = max(policy.pinned_prize, prize)
        demand = (0,) * len(dp.part_dimensions)
    if job.emergency and first_on is None:
        prize = max(prize, policy.emergency_prize)
        reach = _earliest_reach(dp, i, vehicles, durations, n_ends, end_index)
        late = max(early, min(late, max(early, reach) + policy.emergency_slack_minutes * 60))
    return Visit(
        key=job.id,
        location=n_ends + i,
        service=job.duration_minutes * 60.0,
        early=early,
        late=late,
        demand=demand,
        prize=prize,
        vehicles=vehicles,
        first_on=first_on,
        first_rank=rank,
    )


def _earliest_reach(dp: DayProblem, i: int, vehicles, durations, n_ends, end_index) -> float:
    """Soonest any eligible technician could arrive, after finishing the jobs they are on."""
    best = float("inf")
    for k in vehicles:
        tech = dp.techs[k]
        clock, here = dp.day.seconds(tech.start_at), end_index[tech.start_point.rounded()]
        done = _under_way_done(dp, tech, durations, n_ends, end_index)
        if done is not None:
            clock, here = done
        best = min(best, clock + durations[here, n_ends + i])
    return best
