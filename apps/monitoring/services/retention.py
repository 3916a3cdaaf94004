"""Retention: activity rows older than the retention period are deleted in small batches.

Each batch is its own short transaction: the next N old ids in primary-key order, then a delete
of exactly those ids. PostgreSQL's DELETE takes row locks
and a ROW EXCLUSIVE table lock, which does not conflict with INSERT, so writers are never
blocked; the short batches and a pause between them keep I/O and WAL bursts small. On SQLite
(one writer at a time) the short transactions are what keeps writers waiting only briefly.
Communication logs are not touched: comms keeps them by its own policy.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time

import structlog
from django.db import transaction
from django.db.models import Model
from django.utils import timezone

from apps.core.models import Business
from apps.integrations.models import IntegrationActivity
from apps.monitoring.conf import setting
from apps.monitoring.models import ActivityErrorHourly, ActivityHourly

logger = structlog.get_logger(__name__)


@dataclasses.dataclass
class PurgeResult:
    cutoff: dt.datetime
    deleted: int = 0
    batches: int = 0
    longest_batch_ms: float = 0.0
    rollups_deleted: int = 0


def _delete_ids(model: type[Model], ids: list[int], result: PurgeResult, started: float) -> int:
    count, _ = model.objects.filter(pk__in=ids).delete()
    result.batches += 1
    result.longest_batch_ms = max(result.longest_batch_ms, (time.monotonic() - started) * 1000)
    return count


def _delete_batches(
    model: type[Model],
    time_field: str,
    cutoff: dt.datetime,
    batch_size: int,
    pause: float,
    result: PurgeResult,
) -> int:
    """Delete every row older than the cutoff, a short transaction per batch.

    Rows are appended in time order, so the old rows are the low ids: walking the primary key
    empties whole heap pages per batch (few pages touched, little WAL). The walk stops at the
    newest old id, found per business through the (business, time) index, so it never scans the
    recent rows; a last sweep per business through the same index catches any old row with a
    higher id, which keeps the purge exact whatever the order.
    """
    old = model.objects.filter(**{f"{time_field}__lt": cutoff})
    # Per business through the index: a DISTINCT over the old rows would scan them all.
    business_ids = list(Business.objects.order_by("pk").values_list("pk", flat=True))
    newest = [
        old.filter(business_id=b).order_by(f"-{time_field}").values_list("pk", flat=True).first()
        for b in business_ids
    ]
    upper = max((pk for pk in newest if pk is not None), default=None)
    deleted, last_id = 0, 0
    walk = old.filter(pk__lte=upper).order_by("pk") if upper is not None else old.none()
    while True:
        started = time.monotonic()
        with transaction.atomic():
            ids = list(walk.filter(pk__gt=last_id).values_list("pk", flat=True)[:batch_size])
            if not ids:
                break
            deleted += _delete_ids(model, ids, result, started)
        last_id = ids[-1]
        if pause:
            time.sleep(pause)
    for business_id in business_ids:
        while True:
            started = time.monotonic()
            with transaction.atomic():
                ids = list(
                    old.filter(business_id=business_id)
                    .order_by()
                    .values_list("pk", flat=True)[:batch_size]
                )
                if not ids:
                    break
                deleted += _delete_ids(model, ids, result, started)
            if pause:
                time.sleep(pause)
    return deleted


def activity_retention_purge(
    *,
    older_than_days: int | None = None,
    batch_size: int | None = None,
    pause_seconds: float | None = None,
    now: dt.datetime | None = None,
) -> PurgeResult:
    days = (
        older_than_days
        if older_than_days is not None
        else setting("MONITORING_ACTIVITY_RETENTION_DAYS")
    )
    if int(days) < 1:
        raise ValueError("Retention must keep at least one day of activity.")
    now = now or timezone.now()
    batch_size = batch_size or int(setting("MONITORING_RETENTION_BATCH_SIZE"))
    pause = (
        pause_seconds
        if pause_seconds is not None
        else float(setting("MONITORING_RETENTION_PAUSE_SECONDS"))
    )
    result = PurgeResult(cutoff=now - dt.timedelta(days=int(days)))
    result.deleted = _delete_batches(
        IntegrationActivity, "occurred_at", result.cutoff, batch_size, pause, result
    )
    rollup_cutoff = now - dt.timedelta(days=int(setting("MONITORING_ROLLUP_RETENTION_DAYS")))
    for model in (ActivityHourly, ActivityErrorHourly):
        result.rollups_deleted += _delete_batches(
            model, "hour", rollup_cutoff, batch_size, pause, PurgeResult(cutoff=rollup_cutoff)
        )
    logger.info(
        "activity_retention",
        cutoff=result.cutoff.isoformat(),
        deleted=result.deleted,
        batches=result.batches,
        longest_batch_ms=round(result.longest_batch_ms, 1),
        rollups_deleted=result.rollups_deleted,
    )
    return result
