"""Plan one day: build the problem, solve it, check it, time it, explain what was left out."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence

import structlog

from apps.routing.models import UnassignedReason
from apps.routing.solver import Route, Solution, check, solve
from apps.routing.solver.problem import Problem
from apps.routing.travel import Choice

from .build import DayProblem, Refusal, anchor_lunches, build
from .explain import kept_unfitted, why_unplanned
from .inputs import DayInput
from .policy import Policy
from .repair import emergencies_first, fill_gaps, warm_start
from .timeline import Timeline, timeline_for

logger = structlog.get_logger(__name__)
R = UnassignedReason
# Share of a full plan's budget for the first solve, whose lunches are priced by a guess.
LUNCH_FIRST_PASS = 0.6


@dataclasses.dataclass
class DayPlan:
    day: DayInput
    dp: DayProblem
    timelines: list[Timeline]
    unassigned: list[Refusal]
    solver_seconds: float
    total_seconds: float
    iterations: int

    def kpis(self) -> dict:
        stops = [s for t in self.timelines for s in t.stops]
        emergencies = [j for j in self.day.jobs if j.emergency]
        served = {s.job.id for s in stops}
        reasons: dict[str, int] = {}
        for refusal in self.unassigned:
            key = str(refusal.reason)
            reasons[key] = reasons.get(key, 0) + 1
        kept = reasons.pop(str(R.KEPT), 0)
        return {
            "jobs": len(self.day.jobs),
            "planned": len(stops),
            "unassigned": len(self.unassigned) - kept,
            "unassigned_by_reason": reasons,
            # Under way or dispatched with a technician the plan has no room or route for:
            # listed, and left with that technician when the plan is applied.
            "kept": kept,
            "windows_missed": sum(1 for s in stops if s.job.window_missed),
            "emergencies": len(emergencies),
            "emergencies_planned": sum(1 for j in emergencies if j.id in served),
            "technicians": len(self.day.technicians),
            "technicians_used": sum(1 for t in self.timelines if t.stops),
            "drive_minutes": round(sum(t.drive_seconds for t in self.timelines) / 60),
            "distance_km": round(sum(t.distance_m for t in self.timelines) / 1000, 1),
            "overtime_minutes": sum(t.overtime_minutes for t in self.timelines),
            "late_stops": sum(len(t.late_stops()) for t in self.timelines),
            "lunches_skipped": sum(1 for t in self.timelines if t.lunch_skipped),
            "solver_seconds": round(self.solver_seconds, 3),
            "total_seconds": round(self.total_seconds, 3),
            "solver_iterations": self.iterations,
            "travel_source": self.dp.matrix.source,
            "warnings": [
                *self.day.warnings,
                *([self.dp.travel_note] if self.dp.travel_note else []),
            ],
        }


def plan_day(
    *,
    day: DayInput,
    policy: Policy,
    travel: Choice,
    time_limit: float,
    warm_routes: Mapping[int, Sequence[int]] | None = None,
    seed: int = 1,
) -> DayPlan:
    started = time.perf_counter()
    dp = build(day, policy, travel)
    if dp.problem is None:  # nothing to plan, or nobody to plan it for
        return DayPlan(
            day=day,
            dp=dp,
            timelines=[
                timeline_for(
                    day=day, policy=policy, matrix=dp.matrix, locate=dp.loc, tech=t, jobs=[]
                )
                for t in dp.techs
            ],
            unassigned=list(dp.refused),
            solver_seconds=0.0,
            total_seconds=time.perf_counter() - started,
            iterations=0,
        )
    warm = warm_start(dp, warm_routes or {})
    budget = max(0.05, time_limit - (time.perf_counter() - started))
    first = None
    if dp.lunch_visits:
        if not warm_routes:
            # No plan yet: a first solve places lunch with a guessed leg out of it (see
            # build._lunch_visits); the second prices it exactly from there.
            first = solve(
                dp.problem, time_limit=budget * LUNCH_FIRST_PASS, warm_start=warm, seed=seed
            )
            warm = list(first.routes)
            budget = max(0.05, time_limit - (time.perf_counter() - started))
        warm = _with_lunches(dp, warm)
        dp.problem = anchor_lunches(dp, warm)
    solution = solve(dp.problem, time_limit=budget, warm_start=warm, seed=seed)
    if first is not None:
        solution = _merge_time(solution, first)
    dropped = [i for i in solution.unserved if dp.is_job(i) and dp.jobs[i].emergency]
    if dropped:
        # No one can reach an emergency within the slack: serve it as early as still possible.
        dp.problem = _relaxed(dp.problem, dropped)
        solution = _merge_time(
            solve(dp.problem, time_limit=budget / 4, warm_start=solution.routes, seed=seed),
            solution,
        )
    routes = emergencies_first(dp, fill_gaps(dp, _safe_routes(dp, solution)))
    served = {i for r in routes for i in r.visits}
    timelines = []
    by_vehicle = {r.vehicle: r for r in routes}
    visit_of = dp.visit_of_job()
    for k, tech in enumerate(dp.techs):
        visits = by_vehicle[k].visits if k in by_vehicle else ()
        jobs = [dp.jobs[i] for i in visits if dp.is_job(i)]
        lunch = dp.lunch_visits.get(k)
        # Where the solver put lunch: before the n-th job of the route.
        planned = (
            sum(1 for i in visits[: visits.index(lunch)] if dp.is_job(i))
            if lunch in visits
            else None
        )
        timeline, dropped = _on_time_timeline(dp, tech, jobs, planned)
        timelines.append(timeline)
        served -= {visit_of[job.id] for job in dropped}
    unassigned = [*dp.refused]
    for i in range(len(dp.jobs)):
        if i in served:
            continue
        job = dp.jobs[i]
        if job.kept_by is not None:
            k = next(k for k, t in enumerate(dp.techs) if t.id == job.kept_by)
            unassigned.append(kept_unfitted(dp, timelines[k], job))
        else:
            unassigned.append(why_unplanned(dp, timelines, routes, i))
    return DayPlan(
        day=day,
        dp=dp,
        timelines=timelines,
        unassigned=unassigned,
        solver_seconds=solution.seconds,
        total_seconds=time.perf_counter() - started,
        iterations=solution.iterations,
    )


def _on_time_timeline(dp: DayProblem, tech, jobs: list, planned: int | None):
    """The technician's timeline, and the jobs taken off it because the real clock would
    start them after their window.

    The solver's drive times are built never to be shorter than the timeline's (slowest
    traffic of the period, lunch anchored to a real spot), so this should find nothing; if the
    two views ever disagree, a job left unassigned with its reason beats a broken promise to
    a customer. An emergency is never dropped (one nobody can reach in time is planned as
    early as possible, see plan_day), nor a job that stays with this technician.
    """
    jobs, dropped = list(jobs), []
    while True:
        timeline = timeline_for(
            day=dp.day,
            policy=dp.policy,
            matrix=dp.matrix,
            locate=dp.loc,
            tech=tech,
            jobs=jobs,
            planned_lunch=planned,
        )
        late = [
            jobs.index(s.job)
            for s in timeline.late_stops()
            if s.job.kept_by is None and not s.job.emergency
        ]
        if not late:
            return timeline, dropped
        n = late[0]
        logger.error("routing_late_stop_dropped", technician=tech.id, work_order=jobs[n].id)
        dropped.append(jobs.pop(n))
        if planned is not None and n < planned:
            planned -= 1


def _merge_time(second: Solution, first: Solution) -> Solution:
    return dataclasses.replace(
        second,
        seconds=first.seconds + second.seconds,
        iterations=first.iterations + second.iterations,
    )


def _relaxed(problem: Problem, dropped: list[int]) -> Problem:
    visits = list(problem.visits)
    for i in dropped:
        visits[i] = dataclasses.replace(visits[i], late=float("inf"))
    return dataclasses.replace(problem, visits=tuple(visits))


def _with_lunches(dp: DayProblem, routes: Sequence[Route]) -> list[Route]:
    """Each technician's lunch put where it fits best, priced exactly: eaten where the stop
    before it is (no drive in), then the real leg on. A lunch that fits nowhere is left out
    of the warm start rather than making it late (the search would then throw out whatever
    is cheapest to lose, possibly an emergency)."""
    problem = dp.problem
    lunches = set(dp.lunch_visits.values())
    by_vehicle = {r.vehicle: [i for i in r.visits if i not in lunches] for r in routes}
    for k, lunch in dp.lunch_visits.items():
        visits = by_vehicle.get(k, [])
        head = len(problem.head(k))
        best = None
        for position in range(head, len(visits) + 1):
            trial = [*visits[:position], lunch, *visits[position:]]
            end = _lunch_route_end(problem, k, trial, lunch)
            if end is not None and (best is None or end < best[0]):
                best = (end, trial)
        if best is not None:
            by_vehicle[k] = best[1]
    return [Route(vehicle=k, visits=tuple(v)) for k, v in sorted(by_vehicle.items()) if v]


def _lunch_route_end(problem: Problem, k: int, visits: list[int], lunch: int) -> float | None:
    """When the route is back, with lunch eaten at the previous stop; None if it breaks a
    window or the shift. Only time is checked: lunch changes no load."""
    vehicle = problem.vehicles[k]
    start = max(vehicle.earliest_start, vehicle.latest_start or vehicle.earliest_start)
    clock, here = start, vehicle.start
    for i in visits:
        visit = problem.visits[i]
        arrival = clock if i == lunch else clock + problem.durations[here, visit.location]
        begin = max(arrival, visit.early)
        if begin > visit.late + 1e-6:
            return None
        clock = begin + visit.service
        here = here if i == lunch else visit.location
    end = clock + problem.durations[here, vehicle.end]
    limit = (vehicle.max_duration or float("inf")) + vehicle.max_overtime
    if end > vehicle.latest_end + 1e-6 or end - start > limit + 1e-6:
        return None
    return float(end)


def _safe_routes(dp: DayProblem, solution: Solution) -> list[Route]:
    """Routes with anything the independent checker refuses taken out.

    The engine encodes the same rules, so this should never remove anything; if it ever does,
    the job is listed as unassigned instead of reaching a technician who cannot do it.
    """
    routes = list(solution.routes)
    for _ in range(len(dp.jobs) + 1):
        violations = [
            v
            for v in check(dp.problem, routes)
            # A required lunch the search could not fit is flagged by the timeline, not dropped.
            if not (v.kind == "missing" and v.visit is not None and not dp.is_job(v.visit))
        ]
        if not violations:
            return routes
        logger.error("routing_solution_rejected", violations=[v.message for v in violations])
        bad = {v.visit for v in violations if v.visit is not None}
        for violation in violations:
            if violation.visit is None and violation.vehicle is not None:
                # A whole-route problem (shift, capacity): give up that route's last stop.
                bad.update(r.visits[-1:] for r in routes if r.vehicle == violation.vehicle)
        bad = {i for item in bad for i in (item if isinstance(item, tuple) else (item,))}
        routes = [Route(r.vehicle, tuple(i for i in r.visits if i not in bad)) for r in routes]
    return routes
