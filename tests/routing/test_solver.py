"""The neutral core: engine results always pass the independent checker, and the checker
catches every kind of violation on hand-made bad routes."""

from __future__ import annotations

import numpy as np
import pytest

from apps.routing.solver import Problem, ProblemError, Route, Vehicle, Visit, check, solve

# A line of points 10 units apart; the depot is point 0.
XS = np.array([0.0, 10.0, 20.0, 30.0, 40.0, 50.0])
LINE = np.abs(XS[:, None] - XS[None, :])


def problem(visits, vehicles=None, **kwargs) -> Problem:
    vehicles = vehicles or [Vehicle(key=0, start=0, end=0, latest_end=1000.0)]
    return Problem(
        visits=tuple(visits),
        vehicles=tuple(vehicles),
        distances=kwargs.pop("distances", LINE),
        durations=kwargs.pop("durations", LINE),
        coordinates=np.column_stack([XS, np.zeros_like(XS)]),
        **kwargs,
    )


def kinds(p: Problem, routes) -> set[str]:
    return {v.kind for v in check(p, routes)}


def test_solves_a_small_vrptw_optimally_and_feasibly():
    visits = [Visit(key=i, location=i, service=1.0, demand=(1,)) for i in range(1, 6)]
    trucks = [Vehicle(key=k, start=0, end=0, latest_end=500, capacity=(5,)) for k in range(2)]
    p = problem(visits, trucks)
    solution = solve(p, time_limit=0.3)
    assert solution.feasible and check(p, solution.routes) == []
    assert solution.distance(p) == pytest.approx(100.0)  # out to 50 and back
    assert len(solution.routes) == 1


def test_time_windows_force_the_order_and_distances_stay_double_precision():
    distances = LINE * 1.0001  # not integers: the report must not be the rounded value
    visits = [
        Visit(key="far", location=5, early=0, late=60),
        Visit(key="near", location=1, early=100, late=120),
    ]
    p = problem(visits, distances=distances, scale=1000)
    solution = solve(p, time_limit=0.3)
    assert check(p, solution.routes) == []
    assert [p.visits[i].key for i in solution.routes[0].visits] == ["far", "near"]
    assert solution.distance(p) == pytest.approx(100.0 * 1.0001, abs=1e-9)


def test_capacity_splits_routes():
    visits = [Visit(key=i, location=i, demand=(3,)) for i in range(1, 5)]
    trucks = [Vehicle(key=k, start=0, end=0, capacity=(6,)) for k in range(3)]
    p = problem(visits, trucks)
    solution = solve(p, time_limit=0.3)
    assert check(p, solution.routes) == []
    assert len(solution.routes) == 2


def test_eligibility_is_never_broken_even_when_it_costs_distance():
    # Vehicle 1 sits right at the job, but only vehicle 0 may do it.
    visits = [Visit(key="job", location=5, vehicles=frozenset({0}))]
    vans = [Vehicle(key=0, start=0, end=0), Vehicle(key=1, start=5, end=5)]
    p = problem(visits, vans)
    solution = solve(p, time_limit=0.3)
    assert check(p, solution.routes) == []
    assert solution.routes[0].vehicle == 0


def test_optional_visits_are_dropped_only_when_they_cannot_fit():
    visits = [
        Visit(key="fits", location=1, late=50, prize=1000.0),
        Visit(key="too_late", location=5, late=10, prize=1000.0),  # 50 away, closes at 10
    ]
    p = problem(visits)
    solution = solve(p, time_limit=0.3)
    assert check(p, solution.routes) == []
    assert [p.visits[i].key for i in solution.unserved] == ["too_late"]


def test_a_first_stop_stays_first_and_on_its_vehicle():
    visits = [
        Visit(key="on_site", location=4, service=5.0, first_on=0),
        Visit(key="other", location=1, prize=1000.0),
    ]
    vans = [Vehicle(key=0, start=0, end=0, earliest_start=0, latest_start=0)]
    p = problem(visits, vans)
    solution = solve(p, time_limit=0.3)
    assert check(p, solution.routes) == []
    assert p.visits[solution.routes[0].visits[0]].key == "on_site"


def test_overtime_is_used_when_a_job_is_worth_it():
    visits = [Visit(key="job", location=5, service=20.0, prize=10_000.0)]
    vans = [
        Vehicle(
            key=0,
            start=0,
            end=0,
            latest_start=0,
            max_duration=100,
            max_overtime=30,
            overtime_cost=2,
        )
    ]
    p = problem(visits, vans)
    solution = solve(p, time_limit=0.3)
    assert check(p, solution.routes) == [] and solution.routes  # 120 long: 20 in overtime


def test_warm_start_is_accepted_and_repaired():
    visits = [Visit(key=i, location=i, prize=1000.0) for i in range(1, 6)]
    vans = [Vehicle(key=k, start=0, end=0) for k in range(2)]
    p = problem(visits, vans)
    warm = [Route(vehicle=1, visits=(4, 0, 2))]  # a poor order, missing two visits
    solution = solve(p, time_limit=0.3, warm_start=warm)
    assert check(p, solution.routes) == []
    assert sum(len(r.visits) for r in solution.routes) == 5


def test_checker_reports_each_kind_of_violation():
    visits = [
        Visit(key="a", location=1, late=5, demand=(4,)),  # reached at 10: late
        Visit(key="b", location=2, demand=(4,), vehicles=frozenset({1})),
        Visit(key="c", location=3, first_on=1),
        Visit(key="d", location=4),
    ]
    vans = [
        Vehicle(key=0, start=0, end=0, latest_end=30, capacity=(6,)),
        Vehicle(key=1, start=0, end=0, latest_start=0, capacity=(6,)),
    ]
    p = problem(visits, vans)
    found = kinds(p, [Route(0, (0, 1, 2)), Route(0, (1,))])
    assert {"window", "capacity", "eligibility", "first", "shift", "fleet", "duplicate"} <= found
    assert "missing" in found  # d is required and nowhere
    assert kinds(p, [Route(7, (3,))]) == {"vehicle"}


def test_malformed_problems_are_refused_with_a_reason():
    with pytest.raises(ProblemError, match="square"):
        problem([], distances=np.zeros((2, 3)))
    with pytest.raises(ProblemError, match="window ends before"):
        problem([Visit(key="x", location=1, early=5, late=1)])
    with pytest.raises(ProblemError, match="both have to be stop 1"):
        problem(
            [Visit(key="x", location=1, first_on=0), Visit(key="y", location=2, first_on=0)],
            [Vehicle(key=0, start=0, end=0, latest_start=0)],
        )
    with pytest.raises(ProblemError, match="start time must be fixed"):
        problem([Visit(key="x", location=1, first_on=0)])
