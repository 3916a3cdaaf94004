"""The default travel-time model: no network, no vendor, no cost.

Road distance is the great-circle distance times a detour factor; free-flow speed grows with trip
length (side streets first, arterials on longer trips); the time of day then slows traffic down
(morning and evening rush). A leg's duration integrates the speed bands it crosses, so leaving
later never means arriving earlier.
"""

from __future__ import annotations

import bisect
import dataclasses
import datetime as dt
import zoneinfo
from collections.abc import Sequence

import numpy as np

from .base import (
    LatLng,
    TravelMatrix,
    TravelTable,
    TravelTimeProvider,
    as_array,
    great_circle_metres,
)

DAY = 86_400


@dataclasses.dataclass(frozen=True)
class SpeedProfile:
    """Traffic factor by local time of day: 1.0 is free flow, 0.6 means 40 % slower."""

    # (minute of the day the band starts, factor), sorted, first band at minute 0.
    # A travel-time index of 1.4 at the peaks is typical of a large US metro (TomTom, INRIX).
    bands: tuple[tuple[int, float], ...] = (
        (0, 1.05),
        (6 * 60, 0.95),
        (7 * 60, 0.7),  # morning rush
        (9 * 60, 0.85),
        (10 * 60, 0.95),
        (11 * 60 + 30, 0.9),  # lunch traffic
        (13 * 60 + 30, 0.95),
        (15 * 60 + 30, 0.8),
        (16 * 60, 0.7),  # evening rush
        (18 * 60 + 30, 0.85),
        (19 * 60 + 30, 1.0),
        (22 * 60, 1.05),
    )

    def __post_init__(self):
        starts = [start for start, _ in self.bands]
        if not starts or starts[0] != 0 or starts != sorted(starts):
            raise ValueError("Speed bands must be sorted and start at minute 0.")
        if any(factor <= 0 for _, factor in self.bands):
            raise ValueError("Speed factors must be positive.")

    def _band(self, second: float) -> tuple[float, float]:
        """Factor at this second of the day and the second the band ends."""
        minute = (second % DAY) / 60
        index = bisect.bisect_right([s for s, _ in self.bands], minute) - 1
        end_minute = self.bands[index + 1][0] if index + 1 < len(self.bands) else 24 * 60
        day_start = second - (second % DAY)
        return self.bands[index][1], day_start + end_minute * 60

    def factor_at(self, second: float) -> float:
        return self._band(second)[0]

    def slowest_between(self, start: float, end: float) -> float:
        slowest, clock = self.factor_at(start), start
        while True:
            factor, band_end = self._band(clock)
            slowest = min(slowest, factor)
            if band_end >= end:
                return slowest
            clock = band_end

    def drive_seconds(self, free_flow: float, departure: float) -> float:
        """Seconds to cover `free_flow` seconds of free-flow driving leaving at `departure`."""
        remaining, clock = free_flow, departure
        while remaining > 1e-9:
            factor, band_end = self._band(clock)
            span = band_end - clock
            if span * factor >= remaining:
                clock += remaining / factor
                break
            remaining -= span * factor
            clock = band_end
        return clock - departure


@dataclasses.dataclass(frozen=True)
class EmbeddedModel:
    road_factor: float = 1.35  # typical urban detour index (road / straight-line distance)
    min_speed_kmh: float = 25.0  # very short hops: side streets, lights
    max_speed_kmh: float = 70.0  # long trips: mostly arterials and highway
    speed_distance_km: float = 12.0  # trip length at which speed is ~63 % of the way up
    stop_overhead_seconds: float = 120.0  # park, walk to the door; not affected by traffic
    profile: SpeedProfile = SpeedProfile()

    def road_metres(self, origins: np.ndarray, destinations: np.ndarray) -> np.ndarray:
        return great_circle_metres(origins, destinations) * self.road_factor

    def free_flow_seconds(self, road_metres: np.ndarray) -> np.ndarray:
        km = road_metres / 1000.0
        speed = self.min_speed_kmh + (self.max_speed_kmh - self.min_speed_kmh) * (
            1 - np.exp(-km / self.speed_distance_km)
        )
        return km / speed * 3600.0


class EmbeddedTravelMatrix(TravelMatrix):
    """Durations hold for the whole planning window (its slowest band); legs see the real band."""

    def __init__(self, *, free_flow: np.ndarray, model: EmbeddedModel, tz, **kwargs):
        super().__init__(**kwargs)
        self.free_flow = free_flow
        self.model = model
        self.tz = tz

    def bounded_durations(self, rows, cols, depart_after, arrive_before, day_start):
        """Per leg, the slowest band between the earliest departure and the latest arrival.

        A leg that leaves i no earlier than depart_after[i] and arrives at j no later than
        arrive_before[j] lies inside that interval, so it cannot take longer than this.
        """
        profile = self.model.profile
        midnight = day_start.astimezone(self.tz).replace(hour=0, minute=0, second=0)
        offset = (day_start.astimezone(self.tz) - midnight).total_seconds()
        lo = np.asarray(depart_after, dtype=float)[:, None] + offset
        hi = np.asarray(arrive_before, dtype=float)[None, :] + offset
        slowest = np.full((len(rows), len(cols)), np.inf)
        for day in (0, DAY):  # intervals may run past midnight
            starts = [start * 60 + day for start, _ in profile.bands]
            ends = [*starts[1:], DAY + day]
            for (start, end), (_, factor) in zip(
                zip(starts, ends, strict=True), profile.bands, strict=True
            ):
                overlaps = (lo < end) & (hi > start)
                slowest = np.where(overlaps, np.minimum(slowest, factor), slowest)
        slowest = np.where(np.isfinite(slowest), slowest, min(f for _, f in profile.bands))
        free = self.free_flow[np.ix_(rows, cols)]
        seconds = free / slowest + self.model.stop_overhead_seconds
        return np.where(self.distances[np.ix_(rows, cols)] > 0, seconds, 0.0)

    def leg_seconds(self, i: int, j: int, departure: dt.datetime) -> float:
        if i == j or self.distances[i, j] == 0:
            return 0.0
        local = departure.astimezone(self.tz)
        second = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        drive = self.model.profile.drive_seconds(float(self.free_flow[i, j]), second)
        return drive + self.model.stop_overhead_seconds


class EmbeddedTravelTimes(TravelTimeProvider):
    source = "embedded"
    time_dependent = True

    def __init__(self, *, tz: str | dt.tzinfo = "UTC", model: EmbeddedModel | None = None):
        self.tz = zoneinfo.ZoneInfo(tz) if isinstance(tz, str) else tz
        self.model = model or EmbeddedModel()

    def _local_second(self, moment: dt.datetime) -> float:
        local = moment.astimezone(self.tz)
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        return (local - midnight).total_seconds()

    def table(
        self, origins: Sequence[LatLng], destinations: Sequence[LatLng], *, departure: dt.datetime
    ) -> TravelTable:
        road = self.model.road_metres(as_array(origins), as_array(destinations))
        factor = self.model.profile.factor_at(self._local_second(departure))
        return TravelTable(distances=road, durations=self._durations(road, factor))

    def _durations(self, road: np.ndarray, factor: float) -> np.ndarray:
        seconds = self.model.free_flow_seconds(road) / factor + self.model.stop_overhead_seconds
        return np.where(road > 0, seconds, 0.0)

    def matrix(
        self, points: Sequence[LatLng], *, departure: dt.datetime, until: dt.datetime | None = None
    ) -> TravelMatrix:
        coords = as_array(points)
        road = self.model.road_metres(coords, coords)
        start = self._local_second(departure)
        end = start + ((until - departure).total_seconds() if until else 0.0)
        factor = self.model.profile.slowest_between(start, max(start, end))
        return EmbeddedTravelMatrix(
            points=list(points),
            distances=road,
            durations=self._durations(road, factor),
            source=self.source,
            free_flow=self.model.free_flow_seconds(road),
            model=self.model,
            tz=self.tz,
        )
