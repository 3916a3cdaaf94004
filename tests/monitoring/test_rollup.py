"""Hourly rollups: recomputed, never summed into, so reruns and late rows are counted once."""

import datetime as dt

from apps.monitoring.models import ActivityErrorHourly, ActivityHourly, RollupState
from apps.monitoring.selectors.windows import floor_hour
from apps.monitoring.services.rollup import activity_rollup_refresh
from tests.monitoring.conftest import log


def test_first_run_backfills_and_reruns_do_not_double_count(books, now):
    log(books, 5, at=now - dt.timedelta(days=10))
    log(books, 3, at=now - dt.timedelta(hours=2), outcome="rejected", message="Item 7 refused")

    activity_rollup_refresh(now=now)
    activity_rollup_refresh(now=now)

    assert sum(ActivityHourly.objects.values_list("operations", flat=True)) == 8
    (errors,) = ActivityErrorHourly.objects.all()
    assert (errors.count, errors.signature, errors.last_message) == (
        3,
        "Item # refused",
        "Item 7 refused",
    )
    assert RollupState.objects.get().complete_until == floor_hour(now)


def test_the_current_hour_is_left_to_raw_reads(books, now):
    log(books, 4, at=now - dt.timedelta(minutes=1))
    activity_rollup_refresh(now=now)
    assert not ActivityHourly.objects.exists()


def test_a_late_row_within_the_lookback_is_picked_up(books, now):
    log(books, 1, at=now - dt.timedelta(hours=3))
    activity_rollup_refresh(now=now)
    # Committed late: it belongs to an hour already rolled up.
    log(books, 1, at=now - dt.timedelta(minutes=90))
    activity_rollup_refresh(now=now + dt.timedelta(minutes=10))

    assert sum(ActivityHourly.objects.values_list("operations", flat=True)) == 2
