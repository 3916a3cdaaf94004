"""The hourly rollup: closed UTC hours recomputed from the raw rows (delete and insert), per
business, in short transactions. Every run redoes the last few closed hours, so a row committed
a little late still lands in its hour; a rerun never double counts."""

from __future__ import annotations

import dataclasses
import datetime as dt

import structlog
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from apps.core.models import Business
from apps.integrations.models import IntegrationActivity
from apps.monitoring.conf import setting
from apps.monitoring.models import ActivityErrorHourly, ActivityHourly, RollupState
from apps.monitoring.selectors.windows import (
    HOUR,
    ROLLUP_STATE,
    floor_hour,
    raw_error_groups,
    raw_hourly,
)

logger = structlog.get_logger(__name__)
LOCK_KEY = "monitoring:rollup:lock"
CHUNK = dt.timedelta(days=7)  # a backfill commits a week at a time


@dataclasses.dataclass
class RollupResult:
    start: dt.datetime | None
    end: dt.datetime
    hour_rows: int = 0
    error_rows: int = 0
    skipped: bool = False


@transaction.atomic
def _recompute(business_id: int, start: dt.datetime, end: dt.datetime) -> tuple[int, int]:
    ActivityHourly.objects.filter(business_id=business_id, hour__gte=start, hour__lt=end).delete()
    ActivityErrorHourly.objects.filter(
        business_id=business_id, hour__gte=start, hour__lt=end
    ).delete()
    hours = [
        ActivityHourly(
            business_id=business_id,
            connection_id=connection_id,
            hour=hour,
            **dataclasses.asdict(counts),
        )
        for connection_id, hour, counts in raw_hourly(business_id, start, end)
    ]
    errors = [
        ActivityErrorHourly(
            business_id=business_id,
            connection_id=group.connection_id,
            hour=group.hour,
            outcome=group.outcome,
            signature=group.signature,
            count=group.count,
            last_message=group.latest_message[:500],
            last_at=group.latest_at,
        )
        for group in raw_error_groups(business_id, [(start, end)], hourly=True)
    ]
    ActivityHourly.objects.bulk_create(hours, batch_size=1000)
    ActivityErrorHourly.objects.bulk_create(errors, batch_size=1000)
    return len(hours), len(errors)


def _oldest_activity(business_id: int) -> dt.datetime | None:
    return (
        IntegrationActivity.objects.filter(business_id=business_id)
        .order_by("occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )


def activity_rollup_refresh(
    *, now: dt.datetime | None = None, since: dt.datetime | None = None
) -> RollupResult:
    """Bring the rollups up to the last closed hour. The first run backfills all history."""
    now = now or timezone.now()
    end = floor_hour(now)
    if not cache.add(LOCK_KEY, "1", timeout=3600):
        return RollupResult(start=None, end=end, skipped=True)  # another run is at it
    try:
        state = RollupState.objects.filter(name=ROLLUP_STATE).first()
        lookback = HOUR * int(setting("MONITORING_ROLLUP_LOOKBACK_HOURS"))
        if since is not None:
            start = floor_hour(since)
        elif state is not None:
            start = min(state.complete_until, end) - lookback
        else:
            start = None  # backfill: each business from its oldest row
        result = RollupResult(start=start, end=end)
        for business_id in Business.objects.order_by("pk").values_list("pk", flat=True):
            begin = start or _oldest_activity(business_id)
            if begin is None:
                continue
            cursor = floor_hour(begin)
            while cursor < end:
                chunk_end = min(cursor + CHUNK, end)
                hours, errors = _recompute(business_id, cursor, chunk_end)
                result.hour_rows += hours
                result.error_rows += errors
                cursor = chunk_end
        RollupState.objects.update_or_create(name=ROLLUP_STATE, defaults={"complete_until": end})
        logger.info(
            "activity_rollup",
            start=start.isoformat() if start else "backfill",
            end=end.isoformat(),
            hour_rows=result.hour_rows,
            error_rows=result.error_rows,
        )
        return result
    finally:
        cache.delete(LOCK_KEY)
