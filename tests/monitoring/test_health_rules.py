"""The health rules at their exact boundaries, on plain numbers and on real rows."""

import datetime as dt
from decimal import Decimal

import pytest

from apps.integrations.models import ConnectionStatus
from apps.integrations.providers import Provider, override_provider
from apps.integrations.services import connection_schedule_set
from apps.monitoring.models import ActivityHourly, MonitoringSettings
from apps.monitoring.selectors.health import Status, Thresholds, business_health, health_status
from tests import factories as f
from tests.monitoring.conftest import log

RULES = Thresholds()
MIN = dt.timedelta(minutes=1)


def status(**overrides):
    values = {
        "operations": 100,
        "successes": 100,
        "silent_for": dt.timedelta(minutes=5),
        "stale_after": dt.timedelta(minutes=60),
        "needs_reconnect": False,
        "disabled": False,
        "thresholds": RULES,
    }
    return health_status(**{**values, **overrides})


def test_ten_errors_is_not_degraded_eleven_is():
    lenient = Thresholds(healthy_rate=Decimal("0"))
    assert status(operations=1000, successes=990, thresholds=lenient) == Status.HEALTHY
    assert status(operations=1000, successes=989, thresholds=lenient) == Status.DEGRADED


def test_exactly_95_percent_is_a_warning_and_95_01_is_healthy():
    many_errors_allowed = Thresholds(degraded_errors=1000)
    assert (
        status(operations=10000, successes=9500, thresholds=many_errors_allowed) == Status.WARNING
    )
    assert (
        status(operations=10000, successes=9501, thresholds=many_errors_allowed) == Status.HEALTHY
    )


def test_sixty_minutes_silent_is_not_stale_sixty_one_is():
    assert status(silent_for=60 * MIN) == Status.HEALTHY
    assert status(silent_for=61 * MIN) == Status.STALE
    assert status(silent_for=60 * MIN + dt.timedelta(seconds=1)) == Status.STALE


def test_silence_matters_only_where_activity_is_expected():
    assert status(silent_for=dt.timedelta(days=3), stale_after=None) == Status.HEALTHY
    assert status(operations=0, successes=0, silent_for=None, stale_after=None) == Status.IDLE


def test_precedence_disabled_then_reconnect_then_stale_then_degraded():
    bad = {"operations": 100, "successes": 0, "silent_for": 120 * MIN}
    assert status(**bad, disabled=True, needs_reconnect=True) == Status.DISABLED
    assert status(**bad, needs_reconnect=True) == Status.NEEDS_RECONNECT
    assert status(**bad) == Status.STALE
    assert status(operations=100, successes=0) == Status.DEGRADED


class Scheduled(Provider):
    resources = {"customers": "pull"}


@pytest.fixture
def scheduled(business):
    """A QuickBooks connection with a sync every 15 minutes: activity is expected."""
    with override_provider("quickbooks", Scheduled):
        connection = f.IntegrationConnectionFactory(
            business=business, name="Scheduled", status=ConnectionStatus.CONNECTED
        )
        connection_schedule_set(connection=connection, resource="customers", every_minutes=15)
        yield connection


def health_of(connection, now, **kwargs):
    report = business_health(business=connection.business, now=now, **kwargs)
    return next(h for h in report.connections if h.key == connection.pk)


@pytest.mark.parametrize(("errors", "expected"), [(10, Status.HEALTHY), (11, Status.DEGRADED)])
def test_errors_in_the_window_at_the_boundary(books, now, errors, expected):
    log(books, 990, at=now - MIN)
    log(books, errors, at=now - 2 * MIN, outcome="temporary_error", message="503")
    MonitoringSettings.objects.create(business=books.business, healthy_success_rate=Decimal("0"))

    assert health_of(books, now).status == expected


@pytest.mark.parametrize(("total", "expected"), [(200, Status.WARNING), (201, Status.HEALTHY)])
def test_success_rate_at_the_boundary(books, now, total, expected):
    """10 errors in 200 is exactly 95 % (a warning); in 201, 95.02 % (healthy)."""
    log(books, total - 10, at=now - MIN)
    log(books, 10, at=now - MIN, outcome="rejected", message="bad")

    health = health_of(books, now)
    assert health.status == expected
    assert health.success_rate == (Decimal("95.00") if total == 200 else Decimal("95.02"))


@pytest.mark.parametrize(("minutes", "expected"), [(60, Status.HEALTHY), (61, Status.STALE)])
def test_stale_at_the_boundary_for_a_scheduled_connection(scheduled, now, minutes, expected):
    log(scheduled, 5, at=now - dt.timedelta(minutes=minutes))

    assert health_of(scheduled, now).status == expected


def test_unscheduled_connection_is_never_stale(books, now):
    log(books, 5, at=now - dt.timedelta(days=2))
    health = health_of(books, now)
    assert health.status == Status.IDLE
    assert health.counts.last_activity_at == now - dt.timedelta(days=2)


def test_a_daily_schedule_is_not_stale_after_two_hours(business, now):
    with override_provider("quickbooks", Scheduled):
        daily = f.IntegrationConnectionFactory(business=business, name="Daily")
        connection_schedule_set(connection=daily, resource="customers", crontab="0 3 * * *")
        log(daily, 1, at=now - dt.timedelta(hours=12))
        assert health_of(daily, now).status == Status.HEALTHY
        assert health_of(daily, now + dt.timedelta(hours=13)).status == Status.STALE


def test_stale_threshold_is_a_business_setting(scheduled, now):
    MonitoringSettings.objects.create(business=scheduled.business, stale_after_minutes=30)
    log(scheduled, 1, at=now - dt.timedelta(minutes=31))
    assert health_of(scheduled, now).status == Status.STALE


def test_needs_reconnect_after_an_authentication_failure(books, now):
    log(books, 3, at=now - MIN, outcome="auth_error", message="401 invalid_token")
    books.status = ConnectionStatus.NEEDS_RECONNECT
    books.save(update_fields=["status"])

    health = health_of(books, now)
    assert health.status == Status.NEEDS_RECONNECT
    assert health.needs_reconnect is True
    assert health.last_error == "401 invalid_token"


def test_figures_over_the_last_24_hours(books, now):
    for ms in range(1, 101):  # durations 1..100 ms
        log(books, 1, at=now - dt.timedelta(minutes=ms), duration_ms=ms)
    log(books, 4, at=now - dt.timedelta(hours=3), outcome="rate_limited", duration_ms=50)
    log(books, 7, at=now - dt.timedelta(hours=25))  # outside the window

    health = health_of(books, now)
    assert (health.operations, health.successes, health.errors) == (104, 100, 4)
    assert health.counts.rate_limited == 4
    assert health.success_rate == Decimal("96.15")
    assert health.counts.avg_ms == 50  # (5050 + 4 * 50) / 104 = 50.48
    assert health.counts.last_success_at == now - MIN
    assert health.counts.last_activity_at == now - MIN


def test_p95_interpolates_like_postgres(books, now):
    for ms in range(1, 101):
        log(books, 1, at=now - MIN, duration_ms=ms)

    assert health_of(books, now).p95_ms == 95  # 1 + 0.95 * 99 = 95.05


def test_last_success_older_than_the_window_comes_from_the_rollups(books, now):
    hour = now.replace(minute=0) - dt.timedelta(days=3)
    ActivityHourly.objects.create(
        business=books.business,
        connection=books,
        hour=hour,
        operations=1,
        successes=1,
        last_activity_at=hour,
        last_success_at=hour + dt.timedelta(minutes=5),
    )
    log(books, 2, at=now - MIN, outcome="temporary_error")

    assert health_of(books, now).counts.last_success_at == hour + dt.timedelta(minutes=5)


def test_integration_type_sums_its_connections_and_shows_the_worst(business, now):
    one = f.IntegrationConnectionFactory(business=business, provider="twilio", name="Main")
    two = f.IntegrationConnectionFactory(business=business, provider="twilio", name="Backup")
    log(one, 50, at=now - MIN, duration_ms=10)
    log(two, 30, at=now - MIN, duration_ms=30)
    log(two, 20, at=now - MIN, outcome="temporary_error", duration_ms=30)

    report = business_health(business=business, now=now)
    twilio = next(h for h in report.integrations if h.provider == "twilio")
    assert (twilio.operations, twilio.errors, twilio.connections) == (100, 20, 2)
    assert twilio.status == Status.DEGRADED
    assert twilio.counts.avg_ms == 20
    assert twilio.p95_ms == 30


def test_other_businesses_rows_never_count(books, other_business, now):
    rival = f.IntegrationConnectionFactory(business=other_business, name="Rival books")
    log(rival, 50, at=now - MIN, outcome="temporary_error")

    report = business_health(business=books.business, now=now)
    assert [h.key for h in report.connections] == [books.pk]
    assert report.connections[0].operations == 0
