"""Matrices from vendors are cached in Django's cache (Redis in production).

Key: provider namespace, departure hour (for traffic-aware vendors) and the rounded coordinates.
A re-plan usually adds or drops a few points; rather than paying for the whole matrix again, the
last matrix of the same namespace and hour is reused and only the rows and columns of the new
points are requested.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence

import numpy as np
from django.conf import settings
from django.core.cache import cache

from .base import LatLng, TravelMatrix, TravelTimeProvider

DEFAULT_TTL = 6 * 3600


class CachedTravelTimes(TravelTimeProvider):
    def __init__(self, inner: TravelTimeProvider):
        self.inner = inner
        self.source = inner.source
        self.time_dependent = inner.time_dependent
        self.ttl = getattr(settings, "ROUTING_MATRIX_CACHE_SECONDS", DEFAULT_TTL)

    def table(self, origins, destinations, *, departure):
        return self.inner.table(origins, destinations, departure=departure)

    def _hour(self, departure: dt.datetime) -> str:
        if not self.inner.time_dependent:
            return "any"
        return departure.astimezone(dt.UTC).strftime("%Y%m%d%H")

    def matrix(
        self, points: Sequence[LatLng], *, departure: dt.datetime, until: dt.datetime | None = None
    ) -> TravelMatrix:
        namespace = self.inner.cache_namespace
        if namespace is None:
            return self.inner.matrix(points, departure=departure, until=until)
        rounded = [p.rounded() for p in points]
        prefix = f"routing:matrix:{hashlib.sha256(namespace.encode()).hexdigest()[:16]}"
        hour = self._hour(departure)
        digest = hashlib.sha256(repr(rounded).encode()).hexdigest()
        key, last_key = f"{prefix}:{hour}:{digest}", f"{prefix}:{hour}:last"
        hit = cache.get(key)
        if hit is not None:
            return self._matrix(points, hit)
        entry = self._extend(points, rounded, cache.get(last_key), departure)
        cache.set_many({key: entry, last_key: entry}, self.ttl)
        return self._matrix(points, entry)

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
