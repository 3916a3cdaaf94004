"""The neutral problem every solve goes through: the Solomon benchmark and the technicians' day.

Nothing here knows about work orders or technicians. Times and costs are plain floats in one
unit chosen by the caller (Solomon: its own units; the product: seconds from local midnight).
`distances` is what the solver minimises, `durations` is what the clock sees; both are square
matrices over `locations`, so several visits may share a location row.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Hashable, Mapping

import numpy as np

INF = math.inf


class ProblemError(ValueError):
    """The problem is malformed (wrong matrix shape, a window that ends before it starts...)."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class Visit:
    """One stop to make: a customer (benchmark) or a work order (product)."""

    key: Hashable
    location: int
    service: float = 0.0
    early: float = 0.0  # service starts no earlier (arriving earlier means waiting)
    late: float = INF  # ... and no later than this
    demand: tuple[int, ...] = ()
    # None: the visit must be made. A number: it may be skipped, and serving it is worth this
    # much in distance units, so the solver drops it only when no route can afford it.
    prize: float | None = None
    # Vehicle indices allowed to make the visit (skills, parts); None means any vehicle.
    vehicles: frozenset[int] | None = None
    # The visit must open this vehicle's route (a job already on site or en route). Several
    # visits may open the same route: they come first in `first_rank` order (0, 1, ...).
    first_on: int | None = None
    first_rank: int = 0
    # A break (lunch): taken wherever the vehicle is, so its matrix rows and columns are zero
    # and the engine never offers it as a "nearby" stop to other visits (see engine._neighbours).
    is_break: bool = False

    @property
    def required(self) -> bool:
        return self.prize is None


@dataclasses.dataclass(frozen=True, kw_only=True)
class Vehicle:
    """One vehicle: a technician's van, or one of a Solomon instance's identical trucks."""

    key: Hashable
    start: int  # location where the route starts
    end: int  # location where it must end
    earliest_start: float = 0.0
    # None lets the solver leave as late as it likes; a number pins the start (a technician is
    # paid from shift start, so overtime is measured from there).
    latest_start: float | None = None
    latest_end: float = INF  # hard: back at `end` by then (shift end plus allowed overtime)
    capacity: tuple[int, ...] = ()
    # Nominal working time; beyond it each time unit costs `overtime_cost`, up to `max_overtime`.
    max_duration: float | None = None
    max_overtime: float = 0.0
    overtime_cost: float = 0.0
    # Soft preference (continuity with a customer, keeping today's assignment): visit index ->
    # discount in distance units when this vehicle makes the visit.
    preferred: Mapping[int, float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Problem:
    visits: tuple[Visit, ...]
    vehicles: tuple[Vehicle, ...]
    distances: np.ndarray
    durations: np.ndarray
    # Integer scale the engine applies before rounding (PyVRP works on integers). The benchmark
    # uses 1000 so Euclidean distances keep three decimals; seconds need no scaling.
    scale: float = 1.0
    name: str = ""
    # Optional (x, y) per location; only used to guide the search (route shapes), never costs.
    coordinates: np.ndarray | None = None

    def __post_init__(self):
        n = self.distances.shape[0]
        for label, matrix in (("distances", self.distances), ("durations", self.durations)):
            if matrix.ndim != 2 or matrix.shape != (n, n):
                raise ProblemError(f"The {label} matrix must be square ({n} x {n}).")
            if not np.all(np.isfinite(matrix)) or (matrix < 0).any():
                raise ProblemError(f"The {label} matrix has negative or missing values.")
        if not self.vehicles:
            raise ProblemError("The problem has no vehicles.")
        dims = {len(v.capacity) for v in self.vehicles} | {
            len(v.demand) for v in self.visits if v.demand
        }
        if len(dims) > 1:
            raise ProblemError("Demands and capacities must have the same number of dimensions.")
        firsts: dict[tuple[int, int], Hashable] = {}
        for visit in self.visits:
            self._check_visit(visit, n)
            if visit.first_on is not None:
                slot = (visit.first_on, visit.first_rank)
                if slot in firsts:
                    raise ProblemError(
                        f"Visits {firsts[slot]} and {visit.key} both have to be stop "
                        f"{visit.first_rank + 1} of vehicle {visit.first_on}."
                    )
                firsts[slot] = visit.key
                if self.vehicles[visit.first_on].latest_start is None:
                    raise ProblemError(
                        f"Vehicle {visit.first_on} has a fixed first stop, so its start time "
                        "must be fixed (latest_start)."
                    )
        for k, head in self.heads.items():
            if [self.visits[i].first_rank for i in head] != list(range(len(head))):
                raise ProblemError(f"The fixed first stops of vehicle {k} must be ranked 0, 1, ...")
        for vehicle in self.vehicles:
            if not (0 <= vehicle.start < n and 0 <= vehicle.end < n):
                raise ProblemError(f"Vehicle {vehicle.key} starts or ends outside the matrix.")
            if vehicle.latest_end < vehicle.earliest_start:
                raise ProblemError(f"Vehicle {vehicle.key} must end after it starts.")

    def _check_visit(self, visit: Visit, n: int) -> None:
        if not 0 <= visit.location < n:
            raise ProblemError(f"Visit {visit.key} has no row in the matrices.")
        if visit.late < visit.early:
            raise ProblemError(f"Visit {visit.key}'s time window ends before it starts.")
        if visit.service < 0:
            raise ProblemError(f"Visit {visit.key} has a negative service time.")
        if visit.vehicles is not None and not visit.vehicles:
            raise ProblemError(f"No vehicle may make visit {visit.key}; leave it out instead.")
        ids = set(range(len(self.vehicles)))
        if visit.vehicles is not None and not visit.vehicles <= ids:
            raise ProblemError(f"Visit {visit.key} names a vehicle that does not exist.")
        if visit.first_on is not None and visit.first_on not in ids:
            raise ProblemError(f"Visit {visit.key} is fixed to a vehicle that does not exist.")

    @functools.cached_property
    def heads(self) -> dict[int, tuple[int, ...]]:
        """Per vehicle, the visits that must open its route, in order."""
        ranked: dict[int, list[tuple[int, int]]] = {}
        for i, visit in enumerate(self.visits):
            if visit.first_on is not None:
                ranked.setdefault(visit.first_on, []).append((visit.first_rank, i))
        return {k: tuple(i for _, i in sorted(pairs)) for k, pairs in ranked.items()}

    def head(self, vehicle: int) -> tuple[int, ...]:
        return self.heads.get(vehicle, ())

    @property
    def dimensions(self) -> int:
        return len(self.vehicles[0].capacity)

    def may_serve(self, vehicle: int, visit: int) -> bool:
        v = self.visits[visit]
        if v.first_on is not None:
            return v.first_on == vehicle
        return v.vehicles is None or vehicle in v.vehicles


@dataclasses.dataclass(frozen=True)
class Route:
    vehicle: int
    visits: tuple[int, ...]  # indices into Problem.visits, in driving order


@dataclasses.dataclass(frozen=True)
class Solution:
    routes: tuple[Route, ...]  # only vehicles that drive
    unserved: tuple[int, ...]  # optional visits the solver left out
    feasible: bool  # the engine's own verdict; callers still run the independent checker
    seconds: float
    iterations: int = 0

    def distance(self, problem: Problem) -> float:
        """Total distance in double precision, recomputed from the routes."""
        total = 0.0
        for route in self.routes:
            vehicle = problem.vehicles[route.vehicle]
            path = [
                vehicle.start,
                *(problem.visits[i].location for i in route.visits),
                vehicle.end,
            ]
            total += float(sum(problem.distances[a, b] for a, b in itertools.pairwise(path)))
        return total
