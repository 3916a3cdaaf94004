"""The health report over any period: per integration, operations, success rate, average time,
error messages grouped with counts and the latest example, a daily (or hourly) series for the
charts, and the trend against the period before."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from decimal import Decimal

from django.utils import timezone

from apps.core.errors import DomainError
from apps.core.models import Business
from apps.integrations.models import IntegrationConnection
from apps.monitoring.selectors.health import success_rate
from apps.monitoring.selectors.windows import (
    Counts,
    ErrorGroup,
    bucket_counts,
    connection_counts,
    error_groups,
    rollup_complete_until,
)

PERIOD_PATTERN = re.compile(r"^\s*(\d{1,4})\s*([hdw])\s*$", re.I)
UNITS = {"h": dt.timedelta(hours=1), "d": dt.timedelta(days=1), "w": dt.timedelta(weeks=1)}
MAX_PERIOD = dt.timedelta(days=366)
DEFAULT_PERIOD = "7d"
ERRORS_SHOWN = 10
STEADY_BAND = Decimal("0.50")  # percentage points of success rate that count as no change


def period_parse(text: str | None) -> tuple[str, dt.timedelta]:
    """'7d', '24h', '4w' -> (normalized label, length). Bad input -> DomainError."""
    text = DEFAULT_PERIOD if text is None or not str(text).strip() else str(text)
    match = PERIOD_PATTERN.match(text)
    if not match:
        raise DomainError(
            f"Period '{text[:20]}' is not understood. Use a number and a unit: 24h, 7d, 4w.",
            field="period",
        )
    amount, unit = int(match.group(1)), match.group(2).lower()
    length = amount * UNITS[unit]
    if amount < 1 or length > MAX_PERIOD:
        raise DomainError("The period must be between 1 hour and 366 days.", field="period")
    return f"{amount}{unit}", length


@dataclasses.dataclass
class Trend:
    direction: str  # improving, worsening, steady, new, silent, none
    operations_change_pct: Decimal | None
    success_rate_change: Decimal | None  # percentage points
    avg_ms_change_pct: Decimal | None
    errors_change: int

    @classmethod
    def between(cls, current: Counts, previous: Counts) -> Trend:
        cur_rate = success_rate(current.successes, current.operations)
        prev_rate = success_rate(previous.successes, previous.operations)
        rate_change = None if cur_rate is None or prev_rate is None else cur_rate - prev_rate
        if not previous.operations:
            direction = "new" if current.operations else "none"
        elif not current.operations:
            direction = "silent"
        elif rate_change >= STEADY_BAND:
            direction = "improving"
        elif rate_change <= -STEADY_BAND:
            direction = "worsening"
        else:
            direction = "steady"
        return cls(
            direction=direction,
            operations_change_pct=_pct_change(current.operations, previous.operations),
            success_rate_change=rate_change,
            avg_ms_change_pct=_pct_change(current.avg_ms, previous.avg_ms),
            errors_change=current.errors - previous.errors,
        )

    def as_dict(self) -> dict:
        return {
            "direction": self.direction,
            "operations_change_pct": _str(self.operations_change_pct),
            "success_rate_change": _str(self.success_rate_change),
            "avg_ms_change_pct": _str(self.avg_ms_change_pct),
            "errors_change": self.errors_change,
        }


def _pct_change(current: int | None, previous: int | None) -> Decimal | None:
    if not previous or current is None:
        return None
    return (Decimal(current - previous) * 100 / Decimal(previous)).quantize(Decimal("0.1"))


def _str(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


@dataclasses.dataclass
class SeriesPoint:
    start: dt.datetime
    label: str
    counts: Counts


@dataclasses.dataclass
class IntegrationReport:
    key: int
    name: str
    provider: str
    provider_label: str
    connection_status: str
    current: Counts
    previous: Counts
    errors: list[ErrorGroup]
    distinct_errors: int
    series: list[SeriesPoint]

    @property
    def success_rate(self) -> Decimal | None:
        return success_rate(self.current.successes, self.current.operations)

    @property
    def trend(self) -> Trend:
        return Trend.between(self.current, self.previous)


@dataclasses.dataclass
class HealthReport:
    business: Business
    period: str
    start: dt.datetime
    end: dt.datetime
    previous_start: dt.datetime
    generated_at: dt.datetime
    bucket: str  # "hour" or "day" (local days of the business)
    integrations: list[IntegrationReport]
    totals: Counts
    previous_totals: Counts
    series: list[SeriesPoint]

    @property
    def success_rate(self) -> Decimal | None:
        return success_rate(self.totals.successes, self.totals.operations)

    @property
    def trend(self) -> Trend:
        return Trend.between(self.totals, self.previous_totals)


def _bucket_starts(start: dt.datetime, end: dt.datetime, bucket: str, tz) -> list[dt.datetime]:
    if bucket == "hour":
        cursor = start.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)
        step = dt.timedelta(hours=1)
        out = []
        while cursor < end:
            out.append(cursor)
            cursor += step
        return out
    day = timezone.localtime(start, tz).date()
    last = timezone.localtime(end - dt.timedelta(microseconds=1), tz).date()
    out = []
    while day <= last:
        out.append(timezone.make_aware(dt.datetime.combine(day, dt.time()), tz))
        day += dt.timedelta(days=1)
    return out


def _label(start: dt.datetime, bucket: str, tz) -> str:
    local = timezone.localtime(start, tz)
    return local.strftime("%H:%M") if bucket == "hour" else local.strftime("%a %b %-d")


def health_report(
    *,
    business: Business,
    period: str | None = None,
    now: dt.datetime | None = None,
    use_rollups: bool = True,
) -> HealthReport:
    label, length = period_parse(period)
    end = now or timezone.now()
    start, previous_start = end - length, end - 2 * length
    tz = business.timezone
    bucket = "hour" if length <= dt.timedelta(hours=48) else "day"
    starts = _bucket_starts(start, end, bucket, tz)

    complete = rollup_complete_until() if use_rollups else None
    connections = list(
        IntegrationConnection.objects.filter(business=business).order_by("provider", "name", "pk")
    )
    ids = {c.pk for c in connections}
    current = connection_counts(business.pk, start, end, complete_until=complete)
    previous = connection_counts(business.pk, previous_start, start, complete_until=complete)
    buckets = bucket_counts(business.pk, start, end, bucket=bucket, tz=tz, complete_until=complete)
    series: dict[int, dict[dt.datetime, Counts]] = {
        c.pk: {s: Counts() for s in starts} for c in connections
    }
    for (connection_id, bucket_start), (operations, successes) in buckets.items():
        point = series.get(connection_id, {}).get(bucket_start)
        if point is not None:
            point.operations += operations
            point.successes += successes
    current = {pk: current.get(pk) or Counts() for pk in ids}
    previous = {pk: previous.get(pk) or Counts() for pk in ids}
    errors: dict[int, list[ErrorGroup]] = {c.pk: [] for c in connections}
    for group in error_groups(business.pk, start, end, complete_until=complete):
        if group.connection_id in errors:
            errors[group.connection_id].append(group)

    integrations = [
        IntegrationReport(
            key=c.pk,
            name=c.name,
            provider=c.provider,
            provider_label=c.get_provider_display(),
            connection_status=c.status,
            current=current[c.pk],
            previous=previous[c.pk],
            errors=errors[c.pk][:ERRORS_SHOWN],
            distinct_errors=len(errors[c.pk]),
            series=[SeriesPoint(s, _label(s, bucket, tz), series[c.pk][s]) for s in starts],
        )
        for c in connections
    ]
    totals, previous_totals = Counts(), Counts()
    overall = {s: Counts() for s in starts}
    for item in integrations:
        totals.add(item.current)
        previous_totals.add(item.previous)
        for point in item.series:
            overall[point.start].add(point.counts)
    return HealthReport(
        business=business,
        period=label,
        start=start,
        end=end,
        previous_start=previous_start,
        generated_at=end,
        bucket=bucket,
        integrations=integrations,
        totals=totals,
        previous_totals=previous_totals,
        series=[SeriesPoint(s, _label(s, bucket, tz), overall[s]) for s in starts],
    )


def _counts_dict(counts: Counts) -> dict:
    return {
        "operations": counts.operations,
        "successes": counts.successes,
        "errors": counts.errors,
        "errors_by_outcome": {k: v for k, v in counts.by_outcome().items() if k != "success"},
        "success_rate": _str(success_rate(counts.successes, counts.operations)),
        "avg_ms": counts.avg_ms,
        "max_ms": counts.duration_max_ms if counts.operations else None,
        "last_activity_at": counts.last_activity_at,
        "last_success_at": counts.last_success_at,
    }


def report_as_dict(report: HealthReport) -> dict:
    """The report as plain data (the API's JSON)."""
    return {
        "business": {"id": report.business.pk, "name": report.business.name},
        "period": report.period,
        "start": report.start,
        "end": report.end,
        "previous_start": report.previous_start,
        "bucket": report.bucket,
        "totals": _counts_dict(report.totals),
        "previous_totals": _counts_dict(report.previous_totals),
        "trend": report.trend.as_dict(),
        "integrations": [
            {
                "connection_id": item.key,
                "name": item.name,
                "provider": item.provider,
                "provider_label": item.provider_label,
                "connection_status": item.connection_status,
                **_counts_dict(item.current),
                "previous": _counts_dict(item.previous),
                "trend": item.trend.as_dict(),
                "distinct_errors": item.distinct_errors,
                "error_messages": [
                    {
                        "message": group.signature,
                        "outcome": group.outcome,
                        "count": group.count,
                        "latest_example": group.latest_message,
                        "latest_at": group.latest_at,
                    }
                    for group in item.errors
                ],
                "series": [
                    {
                        "start": point.start,
                        "operations": point.counts.operations,
                        "errors": point.counts.errors,
                    }
                    for point in item.series
                ],
            }
            for item in report.integrations
        ],
    }
