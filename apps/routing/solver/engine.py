"""The one solver: PyVRP's hybrid genetic search (HGS) over the neutral Problem.

Why PyVRP 0.12 and not OR-tools or PyVRP 0.13+: see docs/routing.md ("Choosing the engine").
This is the only module that imports pyvrp. It turns the neutral problem into PyVRP's integer
data, runs the genetic algorithm until a deadline (optionally seeded with a warm start, such as
this morning's plan), and maps the best solution back to visit indices.

Encodings:
- distances are rounded, travel and service times rounded *up* and windows rounded inwards after
  scaling, so a schedule that is feasible in integers is feasible in double precision too;
- a visit a vehicle may not make (skills, parts) costs FORBIDDEN to reach in that vehicle's
  routing profile, which is more than any prize, so dropping the visit always beats it;
- a fixed first stop closes its window at "start + direct drive", so nothing fits before it;
  the fixed stops after it are chained in the vehicle's profile (each may only lead to the next);
- soft preferences are discounts on the arcs into the preferred visit in that vehicle's profile.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Sequence

import numpy as np
from pyvrp import (
    Client,
    Depot,
    GeneticAlgorithm,
    PenaltyManager,
    Population,
    PopulationParams,
    ProblemData,
    RandomNumberGenerator,
    SolveParams,
    VehicleType,
)
from pyvrp import Route as PyvrpRoute
from pyvrp import Solution as PyvrpSolution
from pyvrp.crossover import ordered_crossover, selective_route_exchange
from pyvrp.diversity import broken_pairs_distance
from pyvrp.search import LocalSearch, compute_neighbours

from .problem import INF, Problem, Route, Solution

# Integers PyVRP may add up along a route without overflowing int64.
_MAX_INT = 1 << 50


class _Deadline:
    """Stopping criterion on an absolute clock, so set-up time counts against the budget.

    It also stops when the next iteration would likely run past the deadline (an iteration of a
    400-job day takes a few tenths of a second), so a 1-second budget means about 1 second.
    """

    def __init__(self, deadline: float):
        self.deadline = deadline
        self.last: float | None = None
        self.step = 0.0

    def __call__(self, best_cost: float) -> bool:
        now = time.perf_counter()
        if self.last is not None:
            self.step = max(now - self.last, 0.7 * self.step)
        self.last = now
        return now + self.step >= self.deadline


def _early(value: float, scale: float) -> int:
    return max(0, math.ceil(value * scale - 1e-9))


def _late(value: float, scale: float) -> int | None:
    if value == INF:
        return None
    return min(_MAX_INT, math.floor(value * scale + 1e-9))


class _Encoding:
    """Index bookkeeping between the neutral problem and PyVRP's data."""

    def __init__(self, problem: Problem):
        self.problem = problem
        scale = problem.scale
        ends = sorted({loc for v in problem.vehicles for loc in (v.start, v.end)})
        self.depot_of_location = {loc: i for i, loc in enumerate(ends)}
        self.num_depots = len(ends)
        self.rows = np.array(ends + [v.location for v in problem.visits], dtype=np.int64)
        idx = np.ix_(self.rows, self.rows)
        # PyVRP's costs are integers; a fractional overtime price (time and a half) needs the
        # distances, prizes and discounts on a finer grid so the ratio survives.
        fractional = any(v.overtime_cost % 1 for v in problem.vehicles)
        self.cost_factor = 10 if fractional else 1
        self.distance = np.rint(problem.distances[idx] * scale * self.cost_factor).astype(np.int64)
        self.duration = np.ceil(problem.durations[idx] * scale - 1e-9).astype(np.int64)
        np.fill_diagonal(self.distance, 0)
        np.fill_diagonal(self.duration, 0)
        prizes = [v.prize for v in problem.visits if v.prize is not None]
        top = max([*prizes, 0.0]) * scale * self.cost_factor
        self.forbidden = int(min(_MAX_INT // 64, 10 * (top + self.distance.max() + 1)))
        self._profiles: dict[tuple, int] = {}
        self.distance_profiles: list[np.ndarray] = []
        self.vehicle_types: list[VehicleType] = []
        self.type_vehicles: list[list[int]] = []  # vehicle indices behind each type
        self._build_vehicle_types()

    # --- vehicles and profiles ------------------------------------------------------------------
    def _profile(self, vehicle: int) -> int:
        problem = self.problem
        forbidden = tuple(
            i for i in range(len(problem.visits)) if not problem.may_serve(vehicle, i)
        )
        preferred = tuple(sorted(problem.vehicles[vehicle].preferred.items()))
        head = problem.head(vehicle)
        start_row = self.depot_of_location[problem.vehicles[vehicle].start] if head else None
        key = (forbidden, preferred, head, start_row)
        if key not in self._profiles:
            matrix = self.distance.copy()
            if head:
                # The route opens with the jobs under way, in order: from the start only to the
                # first, from each only to the next.
                rows = [start_row, *(self.num_depots + i for i in head[:-1])]
                for row, target in zip(rows, head, strict=True):
                    keep = matrix[row, self.num_depots + target]
                    matrix[row, :] = self.forbidden
                    matrix[row, self.num_depots + target] = keep
                    matrix[row, row] = 0
            for visit, bonus in preferred:
                col = self.num_depots + visit
                discount = round(bonus * problem.scale * self.cost_factor)
                matrix[:, col] = np.maximum(matrix[:, col] - discount, 0)
            if forbidden:
                cols = self.num_depots + np.array(forbidden, dtype=np.int64)
                matrix[:, cols] = self.forbidden
            np.fill_diagonal(matrix, 0)
            self._profiles[key] = len(self.distance_profiles)
            self.distance_profiles.append(matrix)
        return self._profiles[key]

    def _build_vehicle_types(self) -> None:
        scale = self.problem.scale
        signatures: dict[tuple, int] = {}
        for index, v in enumerate(self.problem.vehicles):
            latest_end = _late(v.latest_end, scale)
            fields = {
                "capacity": list(v.capacity),
                "start_depot": self.depot_of_location[v.start],
                "end_depot": self.depot_of_location[v.end],
                "tw_early": _early(v.earliest_start, scale),
                "profile": self._profile(index),
            }
            if latest_end is not None:
                fields["tw_late"] = latest_end
            if v.latest_start is not None:
                fields["start_late"] = max(fields["tw_early"], _late(v.latest_start, scale))
            if v.max_duration is not None:
                fields["shift_duration"] = _late(v.max_duration, scale)
                fields["max_overtime"] = _late(v.max_overtime, scale) or 0
                fields["unit_overtime_cost"] = round(v.overtime_cost * self.cost_factor)
            key = tuple(sorted((k, str(val)) for k, val in fields.items()))
            if key in signatures:
                self.type_vehicles[signatures[key]].append(index)
                continue
            signatures[key] = len(self.vehicle_types)
            self.type_vehicles.append([index])
            self.vehicle_types.append(fields)
        self.vehicle_types = [
            VehicleType(num_available=len(members), **fields)
            for fields, members in zip(self.vehicle_types, self.type_vehicles, strict=True)
        ]
        self.type_of_vehicle = {
            vehicle: t for t, members in enumerate(self.type_vehicles) for vehicle in members
        }

    # --- data -----------------------------------------------------------------------------------
    def data(self) -> ProblemData:
        problem, scale = self.problem, self.problem.scale
        coords = self._coordinates()
        depots = [Depot(x=coords[i][0], y=coords[i][1]) for i in range(self.num_depots)]
        clients = []
        for i, v in enumerate(problem.visits):
            late = _late(v.late, scale)
            if v.first_on is not None and v.first_rank == 0:
                owner = problem.vehicles[v.first_on]
                start_row = self.depot_of_location[owner.start]
                reach = (
                    _late(owner.latest_start, scale) + self.duration[start_row, self.num_depots + i]
                )
                late = reach if late is None else min(late, reach)
            fields = {
                "x": coords[self.num_depots + i][0],
                "y": coords[self.num_depots + i][1],
                "delivery": list(v.demand) or [0] * problem.dimensions,
                "service_duration": _early(v.service, scale),
                "tw_early": _early(v.early, scale),
                "required": v.required,
                "prize": 0
                if v.prize is None
                else min(_MAX_INT // 64, round(v.prize * scale * self.cost_factor)),
            }
            if late is not None:
                fields["tw_late"] = max(fields["tw_early"], late)
            clients.append(Client(**fields))
        return ProblemData(
            clients=clients,
            depots=depots,
            vehicle_types=self.vehicle_types,
            distance_matrices=self.distance_profiles,
            duration_matrices=[self.duration] * len(self.distance_profiles),
        )

    def _coordinates(self) -> list[tuple[float, float]]:
        # SREX crossover compares routes by the angle of their clients around the depot, so real
        # coordinates help; without them every point sits at the origin.
        coords = self.problem.coordinates
        if coords is None:
            return [(0.0, 0.0)] * len(self.rows)
        return [(float(coords[r][0]), float(coords[r][1])) for r in self.rows]

    def pyvrp_solution(self, data: ProblemData, routes: Sequence[Route]) -> PyvrpSolution:
        used: dict[int, int] = {}
        converted = []
        for route in routes:
            if not route.visits:
                continue
            vtype = self.type_of_vehicle[route.vehicle]
            used[vtype] = used.get(vtype, 0) + 1
            if used[vtype] > len(self.type_vehicles[vtype]):
                raise ValueError("The warm start uses a vehicle twice.")
            visits = [self.num_depots + i for i in route.visits]
            converted.append(PyvrpRoute(data, visits, vtype))
        return PyvrpSolution(data, converted)

    def routes(self, solution: PyvrpSolution) -> tuple[list[Route], list[int]]:
        pools = [list(members) for members in self.type_vehicles]
        routes, served = [], set()
        for r in solution.routes():
            visits = tuple(loc - self.num_depots for loc in r.visits())
            if not visits:
                continue
            served.update(visits)
            routes.append(Route(vehicle=pools[r.vehicle_type()].pop(0), visits=visits))
        routes.sort(key=lambda route: route.vehicle)
        unserved = [i for i in range(len(self.problem.visits)) if i not in served]
        return routes, unserved


def solve(
    problem: Problem,
    *,
    time_limit: float,
    seed: int = 1,
    warm_start: Sequence[Route] | None = None,
    params: SolveParams | None = None,
) -> Solution:
    """Best solution found within `time_limit` seconds of wall-clock time (set-up included)."""
    started = time.perf_counter()
    deadline = started + max(0.0, time_limit)
    if not problem.visits:
        return Solution(routes=(), unserved=(), feasible=True, seconds=0.0)
    prized = any(v.prize is not None for v in problem.visits)
    params = params or (_PRIZED_PARAMS if prized else SolveParams())
    encoding = _Encoding(problem)
    data = encoding.data()
    rng = RandomNumberGenerator(seed=seed)
    search = _local_search(data, rng, params, encoding)
    penalties = (
        _penalties(data, params, encoding)
        if prized
        else PenaltyManager.init_from(data, params.penalty)
    )
    initial = _initial(data, rng, params, encoding, search, penalties, warm_start, prized, deadline)
    crossover = selective_route_exchange if data.num_vehicles > 1 else ordered_crossover
    algorithm = GeneticAlgorithm(
        data,
        penalties,
        rng,
        Population(broken_pairs_distance, params.population),
        search,
        crossover,
        initial,
        params.genetic,
    )
    result = algorithm.run(_Deadline(deadline), collect_stats=False)
    best = result.best
    routes, unserved = encoding.routes(best)
    missing_required = any(problem.visits[i].required for i in unserved)
    return Solution(
        routes=tuple(routes),
        unserved=tuple(unserved),
        feasible=best.is_feasible() and not missing_required,
        seconds=time.perf_counter() - started,
        iterations=result.num_iterations,
    )


# Field-service days (optional jobs with prizes, a few seconds to think): a small population
# turns over quickly; the defaults are tuned for long benchmark runs.
_PRIZED_PARAMS = SolveParams(population=PopulationParams(min_pop_size=8, generation_size=12))


def _initial(data, rng, params, encoding, search, penalties, warm_start, prized, deadline):
    """The starting population.

    Plain VRPTW (the benchmark): random solutions, exactly as PyVRP does. Days with prized jobs
    get improved starts instead: the warm start (today's plan, already repaired and with new
    jobs inserted) after one local search, and variants of it with a tenth of the jobs taken out
    and put back ("ruin and recreate"); without a warm start, random assignments each improved
    by local search. Unimproved random solutions of hundreds of optional jobs make the first
    generations cost a second each, which a re-plan within two seconds cannot afford.
    """
    if not prized:
        return [PyvrpSolution.make_random(data, rng) for _ in range(params.population.min_pop_size)]
    evaluator = penalties.booster_cost_evaluator()
    shuffle = random.Random(rng.randint(1 << 30))  # noqa: S311  (search diversity only)
    until = time.perf_counter() + 0.25 * max(0.0, deadline - time.perf_counter())
    wanted = params.population.min_pop_size
    if warm_start:
        base = search(encoding.pyvrp_solution(data, warm_start), evaluator)
        initial = [base]
        while len(initial) < wanted and time.perf_counter() < until:
            initial.append(search(_ruin(data, base, shuffle), evaluator))
        return initial
    # Random assignments, each improved, rather than one start from nothing: PyVRP's local
    # search inserts a job only next to a routed neighbour or into the first vehicle's route,
    # so from an empty start every job would queue for vehicle 0.
    initial = [search(PyvrpSolution.make_random(data, rng), evaluator)]
    while len(initial) < wanted and time.perf_counter() < until:
        initial.append(search(PyvrpSolution.make_random(data, rng), evaluator))
    return initial


def _ruin(data: ProblemData, solution: PyvrpSolution, shuffle: random.Random) -> PyvrpSolution:
    routes = []
    for route in solution.routes():
        kept = [v for v in route.visits() if shuffle.random() >= 0.1]
        if kept:
            routes.append(PyvrpRoute(data, kept, route.vehicle_type()))
    return PyvrpSolution(data, routes)


def _penalties(data: ProblemData, params: SolveParams, encoding: _Encoding) -> PenaltyManager:
    # With prizes, a cheap penalty makes "serve it late" look better than "leave it out", and the
    # search fills routes with lateness it then has to undo. Start with penalties that make a
    # minute late or a part short cost about what a job is worth.
    prizes = sorted(c.prize for c in data.clients() if c.prize)
    typical = float(prizes[len(prizes) // 2]) if prizes else 1.0
    loads = [typical] * data.num_load_dimensions
    return PenaltyManager((loads, typical / 60.0, 1.0), params.penalty)


def _local_search(
    data: ProblemData, rng: RandomNumberGenerator, params: SolveParams, encoding: _Encoding
) -> LocalSearch:
    search = LocalSearch(data, rng, _neighbours(data, params, encoding))
    for operator in params.node_ops:
        if operator.supports(data):
            search.add_node_operator(operator(data))
    for operator in params.route_ops:
        if operator.supports(data):
            search.add_route_operator(operator(data))
    return search


def _neighbours(data: ProblemData, params: SolveParams, encoding: _Encoding) -> list[list[int]]:
    """PyVRP's granular neighbourhood (Vidal et al. 2013) on the shared base matrix.

    Computed here rather than by compute_neighbours because that one subtracts prizes (so one
    emergency becomes everyone's neighbour) and scans every vehicle profile.
    """
    if not any(c.prize for c in data.clients()):
        return compute_neighbours(data, params.neighbourhood)
    hood = params.neighbourhood
    n_depots = encoding.num_depots
    clients = data.clients()
    early = np.zeros(len(encoding.rows))
    late = np.zeros(len(encoding.rows))
    service = np.zeros(len(encoding.rows))
    early[n_depots:] = [c.tw_early for c in clients]
    late[n_depots:] = [min(c.tw_late, _MAX_INT) for c in clients]
    service[n_depots:] = [c.service_duration for c in clients]
    duration = encoding.duration.astype(float)
    wait = early[None, :] - duration - service[:, None] - late[:, None]
    warp = early[:, None] + service[:, None] + duration - late[None, :]
    proximity = (
        encoding.distance.astype(float)
        + hood.weight_wait_time * np.maximum(wait, 0)
        + hood.weight_time_warp * np.maximum(warp, 0)
    )
    if hood.symmetric_proximity:
        proximity = np.minimum(proximity, proximity.T)
    # A break is zero travel from everywhere: by distance it would be everyone's nearest
    # neighbour and crowd out real ones. Only the break looks for neighbours (by time, among
    # the visits its own vehicle may make); nobody looks for it.
    problem = encoding.problem
    for i, visit in enumerate(problem.visits):
        if visit.is_break:
            row = n_depots + i
            proximity[:, row] = np.inf
            allowed = visit.vehicles or set(range(len(problem.vehicles)))
            for j in range(len(problem.visits)):
                if not any(problem.may_serve(k, j) for k in allowed):
                    proximity[row, n_depots + j] = np.inf
    np.fill_diagonal(proximity, np.inf)
    proximity[:n_depots, :] = np.inf
    proximity[:, :n_depots] = np.inf
    k = min(hood.num_neighbours, data.num_clients - 1)
    top = np.argsort(proximity, axis=1, kind="stable")[n_depots:, :k]
    finite = np.isfinite(np.take_along_axis(proximity[n_depots:], top, axis=1))
    return [[] for _ in range(n_depots)] + [
        row[ok].tolist() for row, ok in zip(top, finite, strict=True)
    ]
