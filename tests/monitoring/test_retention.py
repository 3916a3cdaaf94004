"""Retention deletes exactly the rows older than the period, in batches, for every business."""

import datetime as dt

import pytest

from apps.integrations.models import IntegrationActivity
from apps.monitoring.models import ActivityHourly
from apps.monitoring.services.retention import activity_retention_purge
from tests import factories as f
from tests.monitoring.conftest import log

DAY = dt.timedelta(days=1)


def test_deletes_exactly_what_is_older_than_the_cutoff(books, other_business, now):
    rival = f.IntegrationConnectionFactory(business=other_business, name="Rival")
    cutoff = now - 90 * DAY
    old = log(books, 7, at=cutoff - dt.timedelta(microseconds=1)) + log(
        rival, 5, at=cutoff - 30 * DAY
    )
    kept = log(books, 3, at=cutoff) + log(books, 4, at=now) + log(rival, 2, at=cutoff + DAY)

    result = activity_retention_purge(now=now, batch_size=3, pause_seconds=0)

    assert result.deleted == len(old) == 12
    assert set(IntegrationActivity.objects.values_list("pk", flat=True)) == {r.pk for r in kept}
    assert result.batches == 4  # 12 old rows, 3 at a time


def test_retention_period_is_configurable(books, now, settings):
    log(books, 2, at=now - 31 * DAY)
    log(books, 1, at=now - 29 * DAY)
    settings.MONITORING_ACTIVITY_RETENTION_DAYS = 30

    assert activity_retention_purge(now=now, pause_seconds=0).deleted == 2
    assert IntegrationActivity.objects.count() == 1


def test_old_rollups_go_by_their_own_longer_period(books, now):
    for days in (401, 399):
        hour = (now - days * DAY).replace(minute=0, second=0, microsecond=0)
        ActivityHourly.objects.create(
            business=books.business,
            connection=books,
            hour=hour,
            operations=1,
            last_activity_at=hour,
        )
    result = activity_retention_purge(now=now, pause_seconds=0)
    assert result.rollups_deleted == 1
    assert ActivityHourly.objects.count() == 1


def test_refuses_a_retention_of_zero_days(now):
    with pytest.raises(ValueError, match="at least one day"):
        activity_retention_purge(now=now, older_than_days=0)


def test_old_rows_written_out_of_order_are_deleted_too(books, now):
    cutoff = now - 90 * DAY
    log(books, 2, at=cutoff - DAY)
    recent = log(books, 3, at=now)
    log(books, 2, at=cutoff - 10 * DAY)  # higher ids, older times (a backfill, say)

    assert activity_retention_purge(now=now, batch_size=10, pause_seconds=0).deleted == 4
    assert set(IntegrationActivity.objects.values_list("pk", flat=True)) == {r.pk for r in recent}
