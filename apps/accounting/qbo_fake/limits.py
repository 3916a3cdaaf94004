"""QuickBooks' throttles, enforced per company the way Intuit documents them.

500 requests a minute (batches included), 10 a second, 10 in flight, and at most 40 batch requests
a minute of at most 30 operations each. A request over a limit gets 429 with Retry-After and is
not counted; the fake never silently queues.
"""

from __future__ import annotations

import dataclasses
import math
import threading
import time
from collections import defaultdict, deque


@dataclasses.dataclass(frozen=True)
class QboLimits:
    per_minute: int = 500
    per_second: int = 10
    in_flight: int = 10
    batches_per_minute: int = 40
    batch_size: int = 30

    def ceiling_per_minute(self) -> int:
        """Invoices a minute these limits allow: full batches plus the rest as single creates."""
        batches = min(self.batches_per_minute, self.per_minute)
        return batches * self.batch_size + (self.per_minute - batches)


class Throttle:
    def __init__(self, limits: QboLimits):
        self.limits = limits
        self._lock = threading.Lock()
        self._minute: dict[str, deque[float]] = defaultdict(deque)
        self._second: dict[str, deque[float]] = defaultdict(deque)
        self._batches: dict[str, deque[float]] = defaultdict(deque)
        self._in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight_seen: dict[str, int] = defaultdict(int)
        self.throttled = 0

    @staticmethod
    def _wait(hits: deque[float], limit: int, period: float, now: float) -> float:
        while hits and hits[0] <= now - period:
            hits.popleft()
        if len(hits) < limit:
            return 0.0
        return hits[len(hits) - limit] + period - now

    def enter(self, realm: str, *, batch: bool) -> float:
        """0 when admitted (counted and in flight); otherwise seconds until it would be."""
        with self._lock:
            now = time.monotonic()
            if self._in_flight[realm] >= self.limits.in_flight:
                self.throttled += 1
                return 1.0
            wait = max(
                self._wait(self._minute[realm], self.limits.per_minute, 60.0, now),
                self._wait(self._second[realm], self.limits.per_second, 1.0, now),
                self._wait(self._batches[realm], self.limits.batches_per_minute, 60.0, now)
                if batch
                else 0.0,
            )
            if wait > 0:
                self.throttled += 1
                return wait
            self._minute[realm].append(now)
            self._second[realm].append(now)
            if batch:
                self._batches[realm].append(now)
            self._in_flight[realm] += 1
            self.max_in_flight_seen[realm] = max(
                self.max_in_flight_seen[realm], self._in_flight[realm]
            )
            return 0.0

    def leave(self, realm: str) -> None:
        with self._lock:
            self._in_flight[realm] -= 1

    @staticmethod
    def retry_after(wait: float) -> str:
        return str(max(1, math.ceil(wait)))
