"""Matrices from vendors are cached in Django's cache (Redis in production).

Key: provider namespace, traffic band (for traffic-aware vendors, see bands.py: one table per
band of the planning window) and the rounded coordinates. A re-plan usually adds or drops a few
points; rather than paying for the whole matrix again, the last matrix of the same namespace
and band is reused and only the rows and columns of the new points are requested.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

import numpy as np
from django.conf import settings
from django.core.cache import cache

from .bands import BandedTravelMatrix, bands_between
from .base import LatLng, TravelMatrix, TravelTimeProvider
from .embedded import SpeedProfile

DEFAULT_TTL = 6 * 3600


class CachedTravelTimes(TravelTimeProvider):
    def __init__(
        self,
        inner: TravelTimeProvider,
        *,
        tz: dt.tzinfo = dt.UTC,
        profile: SpeedProfile | None = None,
    ):
        self.inner = inner
        self.source = inner.source
        self.time_dependent = inner.time_dependent
        self.ttl = getattr(settings, "ROUTING_MATRIX_CACHE_SECONDS", DEFAULT_TTL)
        self.tz = tz
        # The embedded model's traffic bands: the same hours of the day are "rush" for both.
        self.profile = profile or SpeedProfile()

    def table(self, origins, destinations, *, departure):
        return self.inner.table(origins, destinations, departure=departure)

    def matrix(
        self, points: Sequence[LatLng], *, departure: dt.datetime, until: dt.datetime | None = None
    ) -> TravelMatrix:
        namespace = self.inner.cache_namespace
        if namespace is None:
            return self.inner.matrix(points, departure=departure, until=until)
        if not self.inner.time_dependent:
            entry = self._cached(namespace, "any", points, departure)
            return self._matrix(points, entry)
        # A connection may opt out (settings {"time_bands": false}): one band, one matrix,
        # for vendors billed per element.
        banded = getattr(self.inner, "time_bands", True)
        bands = bands_between(departure, until if banded else None, self.tz, self.profile)
        entries = [self._cached(namespace, b.key, points, b.ask_at(departure)) for b in bands]
        return BandedTravelMatrix(
            points=list(points),
            distances=entries[0]["distances"].astype(float),
            source=self.inner.source,
            bands=bands,
            tables=[e["durations"].astype(float) for e in entries],
        )

    def _cached(self, namespace: str, band: str, points, departure: dt.datetime) -> dict:
        rounded = [p.rounded() for p in points]
        prefix = f"routing:matrix:{hashlib.sha256(namespace.encode()).hexdigest()[:16]}"
        digest = hashlib.sha256(repr(rounded).encode()).hexdigest()
        key, last_key = f"{prefix}:{band}:{digest}", f"{prefix}:{band}:last"
        hit = cache.get(key)
        if hit is not None:
            return hit
        entry = self._extend(points, rounded, cache.get(last_key), departure)
        cache.set_many({key: entry, last_key: entry}, self.ttl)
        return entry

    def _extend(self, points, rounded, last, departure) -> dict:
        known = {}
        if last is not None:
            known = {tuple(p): i for i, p in enumerate(last["points"])}
        have = [i for i, p in enumerate(rounded) if p in known]
        new = [i for i, p in enumerate(rounded) if p not in known]
        if not have or len(new) > len(points) // 2:
            table = self.inner.table(points, points, departure=departure)
            return _entry(rounded, table.distances, table.durations)
        size = len(points)
        distances = np.zeros((size, size), dtype=np.float32)
        durations = np.zeros((size, size), dtype=np.float32)
        old = np.array([known[rounded[i]] for i in have])
        ix = np.ix_(have, have)
        distances[ix] = last["distances"][np.ix_(old, old)]
        durations[ix] = last["durations"][np.ix_(old, old)]
        if new:
            fresh = [points[i] for i in new]
            out = self.inner.table(fresh, points, departure=departure)  # new -> everything
            distances[new, :], durations[new, :] = out.distances, out.durations
            back = self.inner.table([points[i] for i in have], fresh, departure=departure)
            distances[np.ix_(have, new)] = back.distances
            durations[np.ix_(have, new)] = back.durations
        return _entry(rounded, distances, durations)

    def _matrix(self, points, entry: dict) -> TravelMatrix:
        return TravelMatrix(
            points=list(points),
            distances=entry["distances"].astype(float),
            durations=entry["durations"].astype(float),
            source=self.inner.source,
        )


def _entry(rounded, distances, durations) -> dict:
    # float32 halves the cache size; a metre or a second of rounding does not matter here.
    return {
        "points": [list(p) for p in rounded],
        "distances": np.asarray(distances, dtype=np.float32),
        "durations": np.asarray(durations, dtype=np.float32),
    }
