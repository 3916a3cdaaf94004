"""Faults the fake injects: explicitly queued for a test, or at random rates for the benchmark.

- rate_limit: 429 ThrottleExceeded with Retry-After, before any processing.
- server_error: 503 with an HTML body (as a gateway sends), before any processing.
- timeout: the request IS processed (and its requestid answer cached), then the answer is held
  longer than the client waits. The client cannot tell whether the write happened: the case
  idempotency keys exist for.
- disconnect: processed, then the connection is closed without an answer.
- stale: before an update is applied, someone "edits the record in QuickBooks" (its SyncToken
  moves), so the update fails with 5010 and must be re-read and re-applied.
"""

from __future__ import annotations

import dataclasses
import random
import threading

KINDS = ("rate_limit", "server_error", "timeout", "disconnect", "stale")


@dataclasses.dataclass
class Injection:
    kind: str
    path_contains: str = ""
    method: str = ""
    remaining: int = 1
    retry_after: int = 1

    def matches(self, method: str, path: str) -> bool:
        return (not self.method or self.method == method) and self.path_contains in path


class FaultPlan:
    def __init__(self, *, seed: int = 0):
        self._lock = threading.Lock()
        self._queue: list[Injection] = []
        self._random = random.Random(seed)  # noqa: S311 (a reproducible fault schedule)
        self.rates: dict[str, float] = {}
        self.retry_after = 1
        self.timeout_delay = 3.0
        self.injected: dict[str, int] = dict.fromkeys(KINDS, 0)

    def inject(
        self,
        kind: str,
        *,
        count: int = 1,
        path_contains: str = "",
        method: str = "",
        retry_after: int = 1,
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"Unknown fault {kind!r}; one of {KINDS}")
        with self._lock:
            self._queue.append(Injection(kind, path_contains, method, count, retry_after))

    def set_rates(self, **rates: float) -> None:
        unknown = set(rates) - set(KINDS)
        if unknown:
            raise ValueError(f"Unknown faults {unknown}")
        with self._lock:
            self.rates = dict(rates)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()
            self.rates = {}

    def draw(self, method: str, path: str, *, is_update: bool) -> Injection | None:
        """The fault for this request, if any (at most one)."""
        with self._lock:
            for injection in self._queue:
                if injection.remaining > 0 and injection.matches(method, path):
                    if injection.kind == "stale" and not is_update:
                        continue
                    injection.remaining -= 1
                    self._queue = [i for i in self._queue if i.remaining > 0]
                    self.injected[injection.kind] += 1
                    return injection
            roll = self._random.random()
            for kind, rate in self.rates.items():
                if kind == "stale" and not is_update:
                    continue
                if roll < rate:
                    self.injected[kind] += 1
                    return Injection(kind, retry_after=self.retry_after)
                roll -= rate
        return None
