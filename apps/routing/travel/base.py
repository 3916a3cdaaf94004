"""Travel times behind one interface, whatever answers them (embedded model, OSRM, Google, HERE).

A provider returns a TravelMatrix for a list of points: distances in metres and durations in
seconds. The durations are the ones the planner may rely on for any departure in the window it
asked about; `leg_seconds` gives the duration of one leg for an exact departure (the embedded
model knows rush hour; the vendors answer for the departure that was asked).
"""

from __future__ import annotations

import abc
import dataclasses
import datetime as dt
import math
from collections.abc import Sequence

import numpy as np

# Never driven in a day: used for pairs a vendor cannot route (an island, a closed road).
UNREACHABLE_SECONDS = 24 * 3600.0
UNREACHABLE_METRES = 1_000_000.0


@dataclasses.dataclass(frozen=True, order=True)
class LatLng:
    lat: float
    lng: float

    def __post_init__(self):
        if not (-90 <= self.lat <= 90 and -180 <= self.lng <= 180):
            raise ValueError(f"({self.lat}, {self.lng}) is not a latitude/longitude.")

    def rounded(self, places: int = 5) -> tuple[float, float]:
        """About a metre at 5 places: close enough to share a matrix row, and a cache key."""
        return (round(self.lat, places), round(self.lng, places))


@dataclasses.dataclass
class TravelMatrix:
    points: list[LatLng]
    distances: np.ndarray  # metres, origins x destinations
    durations: np.ndarray  # seconds
    source: str  # "embedded", "osrm", "google_maps", "here"

    def leg_seconds(self, i: int, j: int, departure: dt.datetime) -> float:
        return float(self.durations[i, j])

    def bounded_durations(
        self,
        rows: np.ndarray,
        cols: np.ndarray,
        depart_after: np.ndarray,
        arrive_before: np.ndarray,
        day_start: dt.datetime,
    ) -> np.ndarray:
        """Durations that no leg exceeds when it leaves row i after depart_after[i] and reaches
        column j before arrive_before[j] (seconds from day_start). Static vendors: the table."""
        return self.durations[np.ix_(rows, cols)]

    @property
    def unreachable_pairs(self) -> int:
        return int((self.durations >= UNREACHABLE_SECONDS).sum())


@dataclasses.dataclass(frozen=True)
class TravelTable:
    """What a vendor returns for origins x destinations, before assembly into a matrix."""

    distances: np.ndarray
    durations: np.ndarray


class TravelTimeProvider(abc.ABC):
    source: str = ""
    # Whether answers depend on the departure time (traffic); decides the cache key.
    time_dependent: bool = False

    def matrix(
        self, points: Sequence[LatLng], *, departure: dt.datetime, until: dt.datetime | None = None
    ) -> TravelMatrix:
        """All pairs. `until` marks the end of the period the durations must hold for."""
        table = self.table(points, points, departure=departure)
        return TravelMatrix(
            points=list(points),
            distances=table.distances,
            durations=table.durations,
            source=self.source,
        )

    @abc.abstractmethod
    def table(
        self, origins: Sequence[LatLng], destinations: Sequence[LatLng], *, departure: dt.datetime
    ) -> TravelTable:
        """Origins x destinations, in metres and seconds."""

    @property
    def cache_namespace(self) -> str | None:
        """None: not worth caching (computed locally faster than a cache round trip)."""
        return None


def blocks(count: int, size: int) -> list[range]:
    return [range(start, min(count, start + size)) for start in range(0, count, size)]


def great_circle_metres(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Haversine distances between every row of a and every row of b (degrees lat, lng)."""
    lat1, lng1 = np.radians(a[:, 0])[:, None], np.radians(a[:, 1])[:, None]
    lat2, lng2 = np.radians(b[:, 0])[None, :], np.radians(b[:, 1])[None, :]
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lng2 - lng1) / 2) ** 2
    )
    return 2 * 6_371_008.8 * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def as_array(points: Sequence[LatLng]) -> np.ndarray:
    return np.array([(p.lat, p.lng) for p in points], dtype=float).reshape(-1, 2)


def finite_or(value, fallback: float) -> float:
    if value is None:
        return fallback
    value = float(value)
    return value if math.isfinite(value) else fallback
