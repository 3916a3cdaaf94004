"""Per-connection rate limiter and concurrency gate.

Sliding-window logs, so "500 per minute" holds over any 60 s, not just per calendar minute.
With REDIS_URL set, state lives in Redis (one Lua script per decision, Redis' own clock), so every
worker on every machine shares one budget per connection. Without Redis (the embedded default) it
is kept in process memory, which is exact for a single worker process.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Iterator

from django.conf import settings

from apps.integrations.errors import RateLimited
from apps.integrations.providers import RateLimitPolicy

# Cap on how long a caller sleeps for a slot before giving the work back to the queue: a long wait
# (Xero's daily cap) becomes RateLimited(retry_after), and the task is postponed, not spun.
DEFAULT_MAX_WAIT_S = 10.0
IN_FLIGHT_TTL_S = 300.0  # a crashed holder's concurrency slot frees itself after this


class LocalBackend:
    def __init__(self):
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._in_flight: dict[str, dict[str, float]] = defaultdict(dict)

    def try_acquire(self, key: str, windows: tuple[tuple[int, float], ...]) -> float:
        """0.0 when a request may go now (and it is counted), else seconds until one may."""
        with self._lock:
            now = time.monotonic()
            wait = 0.0
            for limit, period in windows:
                hits = self._hits[f"{key}:{period}"]
                while hits and hits[0] <= now - period:
                    hits.popleft()
                if len(hits) >= limit:
                    wait = max(wait, hits[len(hits) - limit] + period - now)
            if wait > 0:
                return wait
            for _limit, period in windows:
                self._hits[f"{key}:{period}"].append(now)
            return 0.0

    def enter(self, key: str, max_in_flight: int) -> str | None:
        with self._lock:
            now = time.monotonic()
            holders = self._in_flight[key]
            for token, expires in list(holders.items()):
                if expires <= now:
                    del holders[token]
            if len(holders) >= max_in_flight:
                return None
            token = uuid.uuid4().hex
            holders[token] = now + IN_FLIGHT_TTL_S
            return token

    def leave(self, key: str, token: str) -> None:
        with self._lock:
            self._in_flight[key].pop(token, None)


_ACQUIRE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local wait = 0
for i = 1, #KEYS do
  local limit = tonumber(ARGV[2 * i - 1])
  local period = tonumber(ARGV[2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now - period)
  local count = redis.call('ZCARD', KEYS[i])
  if count >= limit then
    local oldest = redis.call('ZRANGE', KEYS[i], count - limit, count - limit, 'WITHSCORES')
    local w = tonumber(oldest[2]) + period - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return tostring(wait) end
local member = ARGV[#ARGV]
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], now, member)
  redis.call('EXPIRE', KEYS[i], math.ceil(tonumber(ARGV[2 * i])) + 1)
end
return '0'
"""

_ENTER = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])) + 1)
return 1
"""


class RedisBackend:
    def __init__(self, url: str):
        import redis

        self._redis = redis.Redis.from_url(url)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._enter = self._redis.register_script(_ENTER)

    def try_acquire(self, key: str, windows: tuple[tuple[int, float], ...]) -> float:
        keys = [f"thorbis:rl:{key}:{period}" for _limit, period in windows]
        args: list = []
        for limit, period in windows:
            args += [limit, period]
        args.append(uuid.uuid4().hex)
        return float(self._acquire(keys=keys, args=args))

    def enter(self, key: str, max_in_flight: int) -> str | None:
        token = uuid.uuid4().hex
        ok = self._enter(keys=[f"thorbis:gate:{key}"], args=[max_in_flight, IN_FLIGHT_TTL_S, token])
        return token if ok else None

    def leave(self, key: str, token: str) -> None:
        self._redis.zrem(f"thorbis:gate:{key}", token)


_backend = None
_backend_lock = threading.Lock()


def backend():
    global _backend
    with _backend_lock:
        if _backend is None:
            _backend = RedisBackend(settings.REDIS_URL) if settings.REDIS_URL else LocalBackend()
        return _backend


def reset_backend(new=None) -> None:
    """Tests swap backends; production never calls this."""
    global _backend
    with _backend_lock:
        _backend = new


class Limiter:
    def __init__(
        self, key: str, policy: RateLimitPolicy, *, store=None, max_wait: float = DEFAULT_MAX_WAIT_S
    ):
        self.key = key
        self.policy = policy
        self.store = store
        self.max_wait = max_wait

    @property
    def _store(self):
        return self.store or backend()

    def _wait_for(self, attempt, what: str) -> object:
        deadline = time.monotonic() + self.max_wait
        while True:
            result, wait = attempt()
            if result is not None:
                return result
            remaining = deadline - time.monotonic()
            if wait > remaining:
                raise RateLimited(f"{what}; try again in {wait:.1f} s", retry_after=wait)
            time.sleep(max(wait, 0.005))

    @contextlib.contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one request's place: a concurrency slot, then a place in every window."""
        token = None
        if self.policy.max_in_flight:
            token = self._wait_for(
                lambda: (self._store.enter(self.key, self.policy.max_in_flight), 0.05),
                f"{self.policy.max_in_flight} requests already in flight",
            )
        try:
            if self.policy.windows:
                self._wait_for(
                    lambda: (
                        (True, 0.0)
                        if (w := self._store.try_acquire(self.key, self.policy.windows)) == 0
                        else (None, w)
                    ),
                    "vendor rate limit reached",
                )
            yield
        finally:
            if token is not None:
                self._store.leave(self.key, token)


def limiter_for(connection_id: int, policy: RateLimitPolicy, **kwargs) -> Limiter:
    return Limiter(f"conn:{connection_id}", policy, **kwargs)
