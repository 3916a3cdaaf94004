import threading
import time

import pytest
import redis as redis_lib
from django.conf import settings

from apps.integrations.errors import RateLimited
from apps.integrations.providers import RateLimitPolicy
from apps.integrations.ratelimit import Limiter, LocalBackend, RedisBackend
from tests.integrations.conftest import PingClient
from tests.loopback import Canned

REDIS_URL = settings.REDIS_URL or "redis://127.0.0.1:6379/15"


def _redis_or_skip() -> RedisBackend:
    try:
        redis_lib.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis_lib.RedisError:
        pytest.skip(f"Redis not reachable at {REDIS_URL}")
    return RedisBackend(REDIS_URL)


@pytest.fixture(params=["local", "redis"])
def store(request):
    return LocalBackend() if request.param == "local" else _redis_or_skip()


def _key(name: str) -> str:
    return f"test:{name}:{time.monotonic_ns()}"


def test_window_admits_exactly_the_limit_then_says_how_long_to_wait(store):
    key = _key("window")
    windows = ((5, 1.0),)
    assert [store.try_acquire(key, windows) for _ in range(5)] == [0.0] * 5
    wait = store.try_acquire(key, windows)
    assert 0.0 < wait <= 1.0


def test_the_tightest_of_several_windows_applies(store):
    key = _key("multi")
    windows = ((10, 1.0), (3, 60.0))  # e.g. 10/s and 3/min
    assert [store.try_acquire(key, windows) for _ in range(3)] == [0.0] * 3
    assert store.try_acquire(key, windows) > 55


def test_long_wait_becomes_rate_limited_with_retry_after(store):
    limiter = Limiter(
        _key("postpone"), RateLimitPolicy(windows=((1, 3600.0),)), store=store, max_wait=0.1
    )
    with limiter.slot():
        pass
    with pytest.raises(RateLimited) as info, limiter.slot():
        pass
    assert info.value.retry_after > 3500


def test_short_wait_is_slept_through(store):
    limiter = Limiter(_key("sleep"), RateLimitPolicy(windows=((2, 0.3),)), store=store, max_wait=2)
    started = time.monotonic()
    for _ in range(4):
        with limiter.slot():
            pass
    assert time.monotonic() - started >= 0.25  # the 3rd call waited for the window to slide


def test_concurrency_gate_holds_under_threads(store):
    limiter = Limiter(_key("gate"), RateLimitPolicy(max_in_flight=3), store=store, max_wait=5)
    inside, peak, lock = [0], [0], threading.Lock()

    def work():
        with limiter.slot():
            with lock:
                inside[0] += 1
                peak[0] = max(peak[0], inside[0])
            time.sleep(0.05)
            with lock:
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 3


def test_redis_budget_is_shared_between_processes_views():
    # Two backends = two workers: together they never exceed the one budget.
    first, second = _redis_or_skip(), RedisBackend(REDIS_URL)
    key = _key("shared")
    results = [b.try_acquire(key, ((4, 5.0),)) for b in (first, second, first, second, first)]
    assert results[:4] == [0.0] * 4 and results[4] > 0


@pytest.mark.postgres  # worker threads write activity rows: needs real concurrent connections
@pytest.mark.django_db(transaction=True)
def test_client_requests_pass_through_the_connection_gate(connection, loopback):
    from django.db import connection as db

    loopback.default = Canned(delay=0.05)
    client = PingClient(connection)  # max_in_flight=4
    errors = []

    def call():
        try:
            client.get("/ping")
        except Exception as exc:
            errors.append(exc)
        finally:
            db.close()

    threads = [threading.Thread(target=call) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(loopback.requests) == 10
    assert loopback.max_in_flight <= 4
