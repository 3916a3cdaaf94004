"""Route surgery around the solver: the warm start of a re-plan, cheapest insertions, and the
jobs the search left out that still fit.

PyVRP's local search moves one job at a time and only next to jobs already routed, so these
helpers do what it cannot do cheaply: start a re-plan from the applied routes with the day's
changes already made (late stops moved, emergencies inserted first), and, after solving, put in
a job whose qualified technicians all have empty or distant routes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from apps.routing.solver import Route
from apps.routing.solver.check import walk
from apps.routing.solver.problem import Problem

from .build import DayProblem


def warm_start(dp: DayProblem, warm_routes: Mapping[int, Sequence[int]]) -> list[Route]:
    """Today's applied routes, mapped onto the new problem, with new emergencies put first.

    Jobs that are gone (done, cancelled) drop out; a job under way goes first. An emergency is
    inserted as the next stop of whichever qualified technician reaches it soonest, and the
    jobs it pushes out of their windows are taken off that route: the search then finds them
    another technician. Local search alone would rarely do this, because it moves one job at a
    time and the emergency only fits once several jobs have moved.
    """
    visit_of = dp.visit_of_job()
    problem = dp.problem
    routes: dict[int, list[int]] = {}
    used: set[int] = set()
    for k, tech in enumerate(dp.techs):
        first = list(problem.head(k))
        rest = []
        for job_id in warm_routes.get(tech.id, ()):
            i = visit_of.get(job_id)
            if i is not None and i not in used and i not in first and problem.may_serve(k, i):
                rest.append(i)
                used.add(i)
        used.update(first)
        if first or rest:
            routes[k] = [*first, *rest]
    if warm_routes:
        # The day has moved on (a job ran long, traffic): what no longer fits is moved first.
        for k in list(routes):
            kept = eject_late(problem, k, routes[k], keep=None)
            ejected = [i for i in routes[k] if i not in kept]
            routes[k] = kept
            for i in ejected:
                insert_cheapest(problem, routes, i, exclude=k)
        known = {job_id for ids in warm_routes.values() for job_id in ids}
        for i, job in enumerate(dp.jobs):
            if job.emergency and i not in used and problem.visits[i].first_on is None:
                insert_first(problem, routes, i)
        # Everything else not on a route (booked since, or its technician cannot take it any
        # more) gets the cheapest slot that fits: PyVRP's search only inserts a job next to a
        # job already routed, so a job with no routed neighbour would otherwise stay out.
        routed = {i for visits in routes.values() for i in visits}
        loose = [i for i in range(len(dp.jobs)) if i not in routed]
        for i in sorted(
            loose, key=lambda i: (dp.jobs[i].id in known, -(problem.visits[i].prize or 0))
        ):
            if problem.visits[i].first_on is None and not dp.jobs[i].emergency:
                insert_cheapest(problem, routes, i)
    return [Route(vehicle=k, visits=tuple(v)) for k, v in sorted(routes.items()) if v]


def fill_gaps(dp: DayProblem, routes: list[Route]) -> list[Route]:
    """Jobs the search left out that still fit somewhere for less than they are worth.

    PyVRP's local search only inserts a job next to one already routed, so a job whose only
    qualified technicians have empty or far-away routes can stay out (seen on a midday re-plan:
    a technician free all afternoon next door to a backlog job). A cheapest insertion without
    overtime, worth less driving than the job's prize, is always an improvement.
    """
    problem = dp.problem
    by_vehicle = {r.vehicle: list(r.visits) for r in routes}
    served = {i for r in routes for i in r.visits}
    left = [i for i in range(len(dp.jobs)) if i not in served and problem.visits[i].prize]
    clocks: dict[int, RouteClock] = {}
    for i in sorted(left, key=lambda i: -(problem.visits[i].prize or 0)):
        insert_cheapest(problem, by_vehicle, i, below=problem.visits[i].prize, clocks=clocks)
    return [Route(vehicle=k, visits=tuple(v)) for k, v in sorted(by_vehicle.items()) if v]


def insert_first(problem: Problem, routes: dict[int, list[int]], visit: int) -> None:
    target = problem.visits[visit]
    best: tuple[float, int, list[int]] | None = None
    candidates = target.vehicles if target.vehicles is not None else range(len(problem.vehicles))
    for k in candidates:
        route = routes.get(k, [])
        head = len(problem.head(k))
        trial = [*route[:head], visit, *route[head:]]
        timings, _, _ = walk(problem, Route(vehicle=k, visits=tuple(trial)))
        start = timings[head].start
        if start <= target.late and (best is None or start < best[0]):
            best = (start, k, trial)
    if best is None:
        return
    _, k, trial = best
    kept = eject_late(problem, k, trial, keep=visit)
    ejected = [i for i in trial if i not in kept]
    routes[k] = kept
    # The jobs the emergency pushed out go to whoever can still take them on time.
    for i in sorted(ejected, key=lambda i: -(problem.visits[i].prize or 0)):
        insert_cheapest(problem, routes, i, exclude=k)


def feasible(problem: Problem, k: int, visits: list[int], *, overtime: bool = True) -> bool:
    vehicle = problem.vehicles[k]
    timings, start, end = walk(problem, Route(vehicle=k, visits=tuple(visits)))
    if any(t.start > problem.visits[i].late for i, t in zip(visits, timings, strict=True)):
        return False
    limit = (vehicle.max_duration or float("inf")) + (vehicle.max_overtime if overtime else 0)
    if end > vehicle.latest_end or end - start > limit:
        return False
    return all(
        sum(problem.visits[i].demand[d] for i in visits if problem.visits[i].demand) <= cap
        for d, cap in enumerate(vehicle.capacity)
    )


def insert_cheapest(
    problem: Problem,
    routes: dict[int, list[int]],
    visit: int,
    *,
    exclude: int | None = None,
    below: float | None = None,
    clocks: dict[int, RouteClock] | None = None,
) -> bool:
    """Cheapest feasible insertion of one visit into any allowed route (a route may be new).

    With `below`, only an insertion adding less driving than that and no overtime is taken.
    Candidates are screened in constant time each on the route's clock (windows and the end
    of the day) and only the cheapest that passes is walked in full, so a job that fits
    nowhere costs a few microseconds per slot instead of a walk of the route.
    """
    target = problem.visits[visit]
    clocks = {} if clocks is None else clocks
    d, t = problem.distances, problem.durations
    here = target.location
    found = []
    vehicles = target.vehicles if target.vehicles is not None else range(len(problem.vehicles))
    for k in vehicles:
        if k == exclude:
            continue
        vehicle = problem.vehicles[k]
        route = routes.get(k, [])
        if k not in clocks:
            clocks[k] = RouteClock.of(problem, k, route)
        clock = clocks[k]
        path = [vehicle.start, *(problem.visits[i].location for i in route), vehicle.end]
        for pos in range(len(problem.head(k)), len(route) + 1):
            a, b = path[pos], path[pos + 1]
            added = d[a, here] + d[here, b] - d[a, b]
            if below is not None and added >= below:
                continue
            leave = clock.start if pos == 0 else clock.departs[pos - 1]
            begin = max(leave + t[a, here], target.early)
            if begin > target.late:
                continue
            onward = begin + target.service + t[here, b]
            if pos < len(route):
                if max(onward, problem.visits[route[pos]].early) > clock.latest[pos]:
                    continue
            elif onward > vehicle.latest_end:
                continue
            found.append((added, k, pos))
    for _, k, pos in sorted(found):
        route = routes.get(k, [])
        trial = [*route[:pos], visit, *route[pos:]]
        if feasible(problem, k, trial, overtime=below is None):
            routes[k] = trial
            clocks.pop(k, None)
            return True
    return False


@dataclasses.dataclass(frozen=True)
class RouteClock:
    """A route's timing for quick insertion screening: when it leaves each stop, and the latest
    each stop may start without making a later stop late or the van back after its end."""

    start: float
    departs: list[float]
    latest: list[float]

    @classmethod
    def of(cls, problem: Problem, k: int, visits: list[int]) -> RouteClock:
        vehicle = problem.vehicles[k]
        timings, start, _ = walk(problem, Route(vehicle=k, visits=tuple(visits)))
        latest = [0.0] * len(visits)
        bound, nxt = vehicle.latest_end, vehicle.end
        for n in range(len(visits) - 1, -1, -1):
            visit = problem.visits[visits[n]]
            latest[n] = min(
                visit.late, bound - problem.durations[visit.location, nxt] - visit.service
            )
            bound, nxt = latest[n], visit.location
        return cls(start=start, departs=[x.departure for x in timings], latest=latest)


def eject_late(problem: Problem, k: int, visits: list[int], *, keep: int | None) -> list[int]:
    """Drop the stops a route can no longer make on time (or within the shift, or the van)."""
    vehicle = problem.vehicles[k]
    while True:
        timings, start, end = walk(problem, Route(vehicle=k, visits=tuple(visits)))
        late = [
            i
            for i, t in zip(visits, timings, strict=True)
            if t.start > problem.visits[i].late and i != keep and problem.visits[i].first_on is None
        ]
        if late:
            visits = [i for i in visits if i != late[0]]
            continue
        over_load = any(
            sum(problem.visits[i].demand[d] for i in visits if problem.visits[i].demand) > cap
            for d, cap in enumerate(vehicle.capacity)
        )
        limit = (vehicle.max_duration or float("inf")) + vehicle.max_overtime
        movable = [i for i in visits if i != keep and problem.visits[i].first_on is None]
        if (end > vehicle.latest_end or end - start > limit or over_load) and movable:
            visits = [i for i in visits if i != movable[-1]]
            continue
        return visits


def emergencies_first(dp: DayProblem, routes: list[Route]) -> list[Route]:
    """Within its slack the search may slip a short job in before an emergency; move the
    emergency to the front (after a job under way) whenever the route stays feasible."""
    problem, result = dp.problem, []
    for route in routes:
        visits = list(route.visits)
        head = len(problem.head(route.vehicle))
        urgent = sorted(
            (i for i in visits[head:] if dp.is_job(i) and dp.jobs[i].emergency),
            key=lambda i: problem.visits[i].late,
        )
        if urgent:
            rest = [i for i in visits[head:] if i not in urgent]
            trial = [*visits[:head], *urgent, *rest]
            if trial != visits and feasible(problem, route.vehicle, trial):
                visits = trial
        result.append(Route(vehicle=route.vehicle, visits=tuple(visits)))
    return result
