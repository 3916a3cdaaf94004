"""Solomon VRPTW text files -> the neutral Problem.

Format (Solomon 1987): a name line, a VEHICLE block with "NUMBER CAPACITY" and one row of two
integers, then a CUSTOMER block of rows "CUST NO. XCOORD. YCOORD. DEMAND READY TIME DUE DATE
SERVICE TIME". Row 0 is the depot: its due date is when every vehicle must be back. Distances
and travel times are Euclidean in double precision (no rounding, no truncation).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from .problem import Problem, Vehicle, Visit

SCALE = 1000  # three decimals survive PyVRP's integer rounding


class SolomonFormatError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class SolomonInstance:
    name: str
    vehicles: int
    capacity: int
    rows: np.ndarray  # (n + 1, 7): number, x, y, demand, ready, due, service; row 0 the depot

    @property
    def customer_numbers(self) -> list[int]:
        return [int(n) for n in self.rows[1:, 0]]


def read(path: str | Path) -> SolomonInstance:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise SolomonFormatError(f"{path}: cannot read the file ({exc}).") from exc
    return parse(text, source=str(path))


def parse(text: str, *, source: str = "<text>") -> SolomonInstance:
    lines = [line.split() for line in text.splitlines()]
    words = [w for w in (ws for ws in lines) if w]
    if not words:
        raise SolomonFormatError(f"{source}: the file is empty.")
    name = words[0][0]
    upper = [[w.upper() for w in ws] for ws in lines]
    vehicle_at = _find(upper, "VEHICLE", source)
    customer_at = _find(upper, "CUSTOMER", source)
    numbers = [ws for ws in lines[vehicle_at + 1 : customer_at] if ws and _numeric(ws)]
    if not numbers or len(numbers[0]) != 2:
        raise SolomonFormatError(
            f"{source}: expected one 'NUMBER CAPACITY' row of two integers in the VEHICLE block."
        )
    fleet, capacity = (int(float(x)) for x in numbers[0])
    rows = []
    for offset, ws in enumerate(lines[customer_at + 1 :], start=customer_at + 2):
        if not ws or not _numeric(ws):
            continue
        if len(ws) != 7:
            raise SolomonFormatError(
                f"{source}, line {offset}: expected 7 numbers per customer row, found {len(ws)}."
            )
        rows.append([float(x) for x in ws])
    if len(rows) < 2:
        raise SolomonFormatError(f"{source}: a depot row and at least one customer are needed.")
    table = np.array(rows)
    if fleet < 1 or capacity < 0:
        raise SolomonFormatError(f"{source}: the vehicle number must be at least 1.")
    if len(set(table[:, 0].tolist())) != len(table):
        raise SolomonFormatError(f"{source}: customer numbers repeat.")
    bad = np.flatnonzero(table[:, 5] < table[:, 4])
    if bad.size:
        raise SolomonFormatError(
            f"{source}: customer {int(table[bad[0], 0])} has a due date before its ready time."
        )
    return SolomonInstance(name=name, vehicles=fleet, capacity=capacity, rows=table)


def _find(lines: list[list[str]], word: str, source: str) -> int:
    for index, ws in enumerate(lines):
        if ws and ws[0] == word:
            return index
    raise SolomonFormatError(f"{source}: no {word} section; is this a Solomon VRPTW file?")


def _numeric(words: list[str]) -> bool:
    try:
        [float(w) for w in words]
    except ValueError:
        return False
    return True


def to_problem(instance: SolomonInstance) -> Problem:
    """Fleet size free up to the instance's vehicle count; minimise total distance."""
    xy = instance.rows[:, 1:3]
    diff = xy[:, None, :] - xy[None, :, :]
    euclid = np.sqrt((diff**2).sum(axis=-1))
    depot = instance.rows[0]
    visits = tuple(
        Visit(
            key=int(row[0]),
            location=i,
            service=float(row[6]),
            early=float(row[4]),
            late=float(row[5]),
            demand=(int(row[3]),),
        )
        for i, row in enumerate(instance.rows[1:], start=1)
    )
    vehicles = tuple(
        Vehicle(
            key=k,
            start=0,
            end=0,
            earliest_start=float(depot[4]),
            latest_end=float(depot[5]),
            capacity=(instance.capacity,),
        )
        for k in range(instance.vehicles)
    )
    return Problem(
        visits=visits,
        vehicles=vehicles,
        distances=euclid,
        durations=euclid,
        scale=SCALE,
        name=instance.name,
        coordinates=xy,
    )
