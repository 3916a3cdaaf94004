"""Vehicle routing core: a neutral problem, one engine, an independent checker."""

from .check import Violation, check
from .engine import solve
from .problem import Problem, ProblemError, Route, Solution, Vehicle, Visit

__all__ = [
    "Problem",
    "ProblemError",
    "Route",
    "Solution",
    "Vehicle",
    "Violation",
    "Visit",
    "check",
    "solve",
]
