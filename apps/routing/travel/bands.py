"""Vendor matrices by time of day: one table per traffic band, each asked for its own hour.

Google and HERE answer for one departure time. A day's plan spans rush hours, so the planning
window is cut into the embedded model's speed bands (morning rush, late morning, lunch,
afternoon, evening rush...; `embedded.SpeedProfile`), each band's table is requested for a
departure inside that band, and the solver and the timeline use the band of the actual (or
planned) departure, as they do with the embedded model.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from .base import TravelMatrix
from .embedded import SpeedProfile


@dataclasses.dataclass(frozen=True)
class Band:
    start: dt.datetime
    end: dt.datetime

    @property
    def key(self) -> str:
        return self.start.astimezone(dt.UTC).strftime("%Y%m%d%H%M")

    def ask_at(self, departure: dt.datetime) -> dt.datetime:
        """The departure sent to the vendor: the band's middle (its typical traffic), or the
        planning start if that is later (vendors refuse or guess for past departures)."""
        return max(self.start + (self.end - self.start) / 2, departure)


def bands_between(
    departure: dt.datetime, until: dt.datetime | None, tz: dt.tzinfo, profile: SpeedProfile
) -> list[Band]:
    """The traffic bands that overlap [departure, until] (just departure's band if no until)."""
    until = max(until or departure, departure)
    local = departure.astimezone(tz)
    day = local.date()
    found: list[Band] = []
    while True:
        midnight = dt.datetime.combine(day, dt.time(0)).replace(tzinfo=tz)
        starts = [midnight + dt.timedelta(minutes=m) for m, _ in profile.bands]
        ends = [
            *starts[1:],
            dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0)).replace(tzinfo=tz),
        ]
        for start, end in zip(starts, ends, strict=True):
            if end > departure and start <= until:
                found.append(Band(start, end))
        if ends[-1] > until:
            return found
        day += dt.timedelta(days=1)


class BandedTravelMatrix(TravelMatrix):
    """Durations per band. `durations` (what a caller with no clock sees) is the slowest band;
    a leg uses the band of its departure, and planning bounds the bands a leg can fall in."""

    def __init__(self, *, bands: list[Band], tables: list[np.ndarray], **kwargs):
        super().__init__(durations=np.maximum.reduce(tables), **kwargs)
        self.bands = bands
        self.tables = tables
        self._starts = np.array([b.start.timestamp() for b in bands])
        self._ends = np.array([b.end.timestamp() for b in bands])

    def _band_of(self, moment: dt.datetime) -> int:
        # Before the first band or after the last: the nearest one answers.
        index = int(np.searchsorted(self._starts, moment.timestamp(), side="right")) - 1
        return min(max(index, 0), len(self.bands) - 1)

    def leg_seconds(self, i: int, j: int, departure: dt.datetime) -> float:
        return float(self.tables[self._band_of(departure)][i, j])

    def bounded_durations(self, rows, cols, depart_after, arrive_before, day_start):
        """Per leg, the slowest band between the earliest departure and the latest arrival."""
        base = day_start.timestamp()
        lo = np.asarray(depart_after, dtype=float)[:, None] + base
        hi = np.asarray(arrive_before, dtype=float)[None, :] + base
        ix = np.ix_(rows, cols)
        result = np.zeros((len(rows), len(cols)))
        hit = np.zeros((len(rows), len(cols)), dtype=bool)
        last = len(self.bands) - 1
        for b, table in enumerate(self.tables):
            # The first and last bands also stand for the time before and after them.
            start = -np.inf if b == 0 else self._starts[b]
            end = np.inf if b == last else self._ends[b]
            overlaps = (lo < end) & (hi >= start)
            result = np.where(overlaps, np.maximum(result, table[ix]), result)
            hit |= overlaps
        return np.where(hit, result, self.durations[ix])
