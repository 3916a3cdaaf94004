"""The report on generated logs with known answers, from raw rows and from the rollups."""

import datetime as dt
from decimal import Decimal

import pytest

from apps.core.errors import DomainError
from apps.monitoring.selectors.report import health_report, period_parse, report_as_dict
from apps.monitoring.selectors.windows import error_signature
from apps.monitoring.services.rollup import activity_rollup_refresh
from tests import factories as f
from tests.monitoring.conftest import log

DAY = dt.timedelta(days=1)


@pytest.fixture
def week_of_logs(books, now):
    """This week: 300 operations, 30 errors in two kinds; last week: 100 operations, 1 error."""
    log(books, 270, at=now - dt.timedelta(hours=1), spread=5 * DAY, duration_ms=200)
    for invoice in range(1, 21):
        log(
            books,
            1,
            at=now - dt.timedelta(hours=invoice),
            outcome="rejected",
            duration_ms=400,
            message=f"Invoice INV-{invoice:04d} rejected: duplicate document number {6140}",
        )
    log(
        books,
        10,
        at=now - dt.timedelta(days=2),
        outcome="temporary_error",
        duration_ms=1000,
        message="Read timed out (30s)",
    )
    log(books, 99, at=now - 8 * DAY, spread=5 * DAY, duration_ms=100)
    log(books, 1, at=now - 9 * DAY, outcome="temporary_error", message="502 Bad Gateway")
    return books


def check_known_answers(report, books, now):
    (item,) = report.integrations
    assert item.key == books.pk
    assert (item.current.operations, item.current.errors) == (300, 30)
    assert item.success_rate == Decimal("90.00")
    # (270 * 200 + 20 * 400 + 10 * 1000) / 300 = 240
    assert item.current.avg_ms == 240
    assert (item.previous.operations, item.previous.errors) == (100, 1)
    trend = item.trend
    assert trend.direction == "worsening"
    assert trend.success_rate_change == Decimal("-9.00")
    assert trend.operations_change_pct == Decimal("200.0")
    assert trend.errors_change == 29

    first, second = item.errors
    assert first.count == 20
    assert first.signature == "Invoice INV-# rejected: duplicate document number #"
    assert first.latest_message == "Invoice INV-0001 rejected: duplicate document number 6140"
    assert first.latest_at == now - dt.timedelta(hours=1)
    assert first.outcome == "rejected"
    assert (second.count, second.latest_message) == (10, "Read timed out (30s)")
    assert item.distinct_errors == 2
    assert sum(p.counts.operations for p in item.series) == 300
    assert report.totals.operations == 300


def test_report_from_raw_rows(week_of_logs, now):
    report = health_report(business=week_of_logs.business, period="7d", now=now, use_rollups=False)
    check_known_answers(report, week_of_logs, now)


def test_report_from_rollups_gives_the_same_answers(week_of_logs, now):
    activity_rollup_refresh(now=now)
    report = health_report(business=week_of_logs.business, period="7d", now=now)
    check_known_answers(report, week_of_logs, now)


def test_rows_newer_than_the_rollups_are_counted_from_raw(week_of_logs, now):
    activity_rollup_refresh(now=now - dt.timedelta(hours=5))
    report = health_report(business=week_of_logs.business, period="7d", now=now)
    check_known_answers(report, week_of_logs, now)


def test_daily_series_uses_the_business_time_zone(books, now):
    # 02:00 UTC on the 18th is still the 17th in Denver (UTC-7).
    log(books, 3, at=dt.datetime(2026, 11, 18, 2, 0, tzinfo=dt.UTC))
    report = health_report(business=books.business, period="7d", now=now)
    by_label = {p.label: p.counts.operations for p in report.integrations[0].series}
    assert by_label["Tue Nov 17"] == 3
    assert by_label["Wed Nov 18"] == 0
    assert len(report.series) == 8  # the window spans parts of 8 local days


def test_short_periods_are_hourly(books, now):
    log(books, 2, at=now - dt.timedelta(minutes=5))
    report = health_report(business=books.business, period="24h", now=now)
    assert report.bucket == "hour"
    assert report.series[-1].counts.operations == 2


def test_new_integration_trend(books, now):
    log(books, 5, at=now - dt.timedelta(hours=2))
    report = health_report(business=books.business, period="7d", now=now)
    assert report.integrations[0].trend.direction == "new"
    assert report.integrations[0].trend.operations_change_pct is None


def test_report_is_scoped_to_the_business(books, other_business, now):
    rival = f.IntegrationConnectionFactory(business=other_business, name="Rival books")
    log(rival, 40, at=now - dt.timedelta(hours=1), outcome="rejected", message="RIVAL SECRET")
    data = report_as_dict(health_report(business=books.business, now=now))
    assert [i["connection_id"] for i in data["integrations"]] == [books.pk]
    assert "RIVAL" not in str(data)


@pytest.mark.parametrize(
    ("text", "label", "length"),
    [
        (None, "7d", 7 * DAY),
        ("24h", "24h", DAY),
        (" 4W ", "4w", 28 * DAY),
        ("366d", "366d", 366 * DAY),
    ],
)
def test_periods(text, label, length):
    assert period_parse(text) == (label, length)


@pytest.mark.parametrize("text", ["7", "d7", "7 days", "0d", "367d", "-1d", "1y", "7d;drop"])
def test_bad_periods_are_refused_with_a_message(text):
    with pytest.raises(DomainError) as refused:
        period_parse(text)
    assert refused.value.field == "period"
    assert "period" in refused.value.message.lower()


@pytest.mark.parametrize(
    ("message", "signature"),
    [
        ("Customer 'Jane Doe' exists (6240)", "Customer '…' exists (#)"),
        ("Request 3f2b9c1e-1a2b-4c3d-9e8f-0a1b2c3d4e5f failed", "Request <id> failed"),
        ("Bounce for ops@acme.example", "Bounce for <email>"),
        ("", "(no message)"),
    ],
)
def test_error_signatures_blank_what_varies(message, signature):
    assert error_signature(message) == signature
