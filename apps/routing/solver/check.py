"""Independent feasibility check of a solution against the neutral problem.

It shares nothing with the engine but the problem definition: it re-walks every route in
double precision (travel, waiting, service), so an encoding mistake in the engine (rounding,
a window, a forbidden vehicle) shows up here as a violation instead of reaching a customer.
"""

from __future__ import annotations

import dataclasses
from collections import Counter

from .problem import Problem, Route

TOLERANCE = 1e-6


@dataclasses.dataclass(frozen=True)
class Violation:
    kind: str  # window, capacity, vehicle, duplicate, missing, eligibility, first, shift, fleet
    message: str
    visit: int | None = None  # the visit at fault, when it is one visit
    vehicle: int | None = None  # the route at fault, when it is a whole route


@dataclasses.dataclass(frozen=True)
class Timing:
    arrival: float
    start: float  # service start (after waiting for the window)
    departure: float


def walk(problem: Problem, route: Route) -> tuple[list[Timing], float, float]:
    """Arrival, start and departure at each stop, the route's start time and its end time."""
    vehicle = problem.vehicles[route.vehicle]
    start_time = (
        vehicle.latest_start if vehicle.latest_start is not None else vehicle.earliest_start
    )
    start_time = max(start_time, vehicle.earliest_start)
    clock, here, timings = start_time, vehicle.start, []
    for index in route.visits:
        visit = problem.visits[index]
        arrival = clock + float(problem.durations[here, visit.location])
        begin = max(arrival, visit.early)
        clock = begin + visit.service
        timings.append(Timing(arrival=arrival, start=begin, departure=clock))
        here = visit.location
    end_time = clock + float(problem.durations[here, vehicle.end])
    return timings, start_time, end_time


def check(problem: Problem, routes: tuple[Route, ...] | list[Route]) -> list[Violation]:
    found: list[Violation] = []
    seen: Counter[int] = Counter()
    vehicles_used: Counter[int] = Counter(r.vehicle for r in routes if r.visits)
    for vehicle, count in vehicles_used.items():
        if not 0 <= vehicle < len(problem.vehicles):
            found.append(Violation("vehicle", f"Route on unknown vehicle {vehicle}."))
        elif count > 1:
            found.append(
                Violation("fleet", f"Vehicle {vehicle} drives {count} routes.", vehicle=vehicle)
            )
    if any(not 0 <= v < len(problem.vehicles) for v in vehicles_used):
        return found
    for route in routes:
        if not route.visits:
            continue
        found.extend(_check_route(problem, route))
        seen.update(route.visits)
    for index, count in seen.items():
        if count > 1:
            found.append(
                Violation(
                    "duplicate",
                    f"Visit {problem.visits[index].key} made {count} times.",
                    visit=index,
                )
            )
    for index, visit in enumerate(problem.visits):
        if visit.required and not seen[index]:
            found.append(
                Violation("missing", f"Required visit {visit.key} is not served.", visit=index)
            )
    return found


def _check_route(problem: Problem, route: Route) -> list[Violation]:
    found: list[Violation] = []
    vehicle = problem.vehicles[route.vehicle]
    if any(not 0 <= i < len(problem.visits) for i in route.visits):
        return [Violation("vehicle", f"Vehicle {vehicle.key} visits an unknown stop.")]
    timings, start_time, end_time = walk(problem, route)
    for position, (index, timing) in enumerate(zip(route.visits, timings, strict=True)):
        visit = problem.visits[index]
        if timing.start > visit.late + TOLERANCE:
            found.append(
                Violation(
                    "window",
                    f"Visit {visit.key} starts at {timing.start:.3f}, after its window closes "
                    f"at {visit.late:.3f}.",
                    visit=index,
                )
            )
        if visit.first_on is not None and (
            visit.first_on != route.vehicle or position != visit.first_rank
        ):
            found.append(
                Violation(
                    "first",
                    f"Visit {visit.key} must be stop {visit.first_rank + 1} of vehicle "
                    f"{visit.first_on}.",
                    visit=index,
                )
            )
        elif visit.vehicles is not None and route.vehicle not in visit.vehicles:
            found.append(
                Violation(
                    "eligibility",
                    f"Vehicle {vehicle.key} may not make visit {visit.key}.",
                    visit=index,
                )
            )
    if end_time > vehicle.latest_end + TOLERANCE:
        found.append(
            Violation(
                "shift",
                f"Vehicle {vehicle.key} is back at {end_time:.3f}, after {vehicle.latest_end:.3f}.",
                vehicle=route.vehicle,
            )
        )
    if vehicle.max_duration is not None:
        limit = vehicle.max_duration + vehicle.max_overtime
        if end_time - start_time > limit + TOLERANCE:
            found.append(
                Violation(
                    "shift",
                    f"Vehicle {vehicle.key} works {end_time - start_time:.3f}, over its limit "
                    f"of {limit:.3f} including overtime.",
                    vehicle=route.vehicle,
                )
            )
    for dim, capacity in enumerate(vehicle.capacity):
        load = sum(
            problem.visits[i].demand[dim] if problem.visits[i].demand else 0 for i in route.visits
        )
        if load > capacity:
            found.append(
                Violation(
                    "capacity",
                    f"Vehicle {vehicle.key} carries {load} in dimension {dim}, over {capacity}.",
                    vehicle=route.vehicle,
                )
            )
    return found
