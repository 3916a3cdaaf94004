"""Counting activity per connection and UTC hour, from the rollups where they are complete and
from the raw rows elsewhere (the edges of a window, and the hour still being written)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable

from django.db import connection as db_connection
from django.db.models import Aggregate, Count, FloatField, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour

from apps.integrations.models import IntegrationActivity, Outcome
from apps.monitoring.models import ActivityErrorHourly, ActivityHourly, RollupState

ROLLUP_STATE = "activity_hourly"
HOUR = dt.timedelta(hours=1)
ERROR_OUTCOMES = (
    Outcome.TEMPORARY_ERROR,
    Outcome.RATE_LIMITED,
    Outcome.AUTH_ERROR,
    Outcome.REJECTED,
    Outcome.CONFIG_ERROR,
)
OUTCOME_FIELDS = {
    Outcome.TEMPORARY_ERROR: "temporary_errors",
    Outcome.RATE_LIMITED: "rate_limited",
    Outcome.AUTH_ERROR: "auth_errors",
    Outcome.REJECTED: "rejected",
    Outcome.CONFIG_ERROR: "config_errors",
}


def floor_hour(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


def ceil_hour(moment: dt.datetime) -> dt.datetime:
    floor = floor_hour(moment)
    return floor if floor == moment else floor + HOUR


@dataclasses.dataclass
class Counts:
    """Operations and their outcomes over some span; addable."""

    operations: int = 0
    successes: int = 0
    temporary_errors: int = 0
    rate_limited: int = 0
    auth_errors: int = 0
    rejected: int = 0
    config_errors: int = 0
    duration_sum_ms: int = 0
    duration_max_ms: int = 0
    last_activity_at: dt.datetime | None = None
    last_success_at: dt.datetime | None = None

    @property
    def errors(self) -> int:
        return self.operations - self.successes

    @property
    def avg_ms(self) -> int | None:
        if not self.operations:
            return None
        return (self.duration_sum_ms * 2 + self.operations) // (self.operations * 2)  # half up

    def add(self, other: Counts) -> None:
        for name in (
            "operations",
            "successes",
            "temporary_errors",
            "rate_limited",
            "auth_errors",
            "rejected",
            "config_errors",
            "duration_sum_ms",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.duration_max_ms = max(self.duration_max_ms, other.duration_max_ms)
        self.last_activity_at = _latest(self.last_activity_at, other.last_activity_at)
        self.last_success_at = _latest(self.last_success_at, other.last_success_at)

    def by_outcome(self) -> dict[str, int]:
        return {"success": self.successes} | {
            outcome.value: getattr(self, field) for outcome, field in OUTCOME_FIELDS.items()
        }


def _latest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


COUNT_ANNOTATIONS = {
    "operations": Count("id"),
    "successes": Count("id", filter=Q(outcome=Outcome.SUCCESS)),
    **{field: Count("id", filter=Q(outcome=outcome)) for outcome, field in OUTCOME_FIELDS.items()},
    "duration_sum_ms": Sum("duration_ms"),
    "duration_max_ms": Max("duration_ms"),
    "last_activity_at": Max("occurred_at"),
    "last_success_at": Max("occurred_at", filter=Q(outcome=Outcome.SUCCESS)),
}
COUNT_FIELDS = tuple(COUNT_ANNOTATIONS)


def counts_from(row: dict) -> Counts:
    values = {name: row[name] for name in COUNT_FIELDS}
    values["duration_sum_ms"] = int(values["duration_sum_ms"] or 0)
    values["duration_max_ms"] = int(values["duration_max_ms"] or 0)
    return Counts(**values)


def raw_activity(business_id: int, start: dt.datetime, end: dt.datetime) -> QuerySet:
    # (business, occurred_at) is indexed: every read is a range scan of one tenant.
    return IntegrationActivity.objects.filter(
        business_id=business_id, occurred_at__gte=start, occurred_at__lt=end
    )


ROLLUP_SUMS = {
    **{
        name: Sum(name)
        for name in (
            "operations",
            "successes",
            "temporary_errors",
            "rate_limited",
            "auth_errors",
            "rejected",
            "config_errors",
            "duration_sum_ms",
        )
    },
    "duration_max_ms": Max("duration_max_ms"),
    "last_activity_at": Max("last_activity_at"),
    "last_success_at": Max("last_success_at"),
}


def raw_hourly(
    business_id: int, start: dt.datetime, end: dt.datetime
) -> Iterable[tuple[int, dt.datetime, Counts]]:
    """Counts per (connection, UTC hour) from the raw rows (what the rollup stores)."""
    rows = (
        raw_activity(business_id, start, end)
        .annotate(hour=TruncHour("occurred_at", tzinfo=dt.UTC))
        .order_by()
        .values("connection_id", "hour")
        .annotate(**COUNT_ANNOTATIONS)
    )
    for row in rows:
        yield row["connection_id"], row["hour"], counts_from(row)


def rollup_complete_until() -> dt.datetime | None:
    return (
        RollupState.objects.filter(name=ROLLUP_STATE)
        .values_list("complete_until", flat=True)
        .first()
    )


Range = tuple[dt.datetime, dt.datetime]


def segments(
    start: dt.datetime, end: dt.datetime, complete_until: dt.datetime | None
) -> tuple[list[Range], Range | None]:
    """Split [start, end) into raw edges (read together) and a whole-hour middle the rollups
    cover."""
    if complete_until is None:
        return [(start, end)], None
    inner_start, inner_end = ceil_hour(start), min(floor_hour(end), complete_until)
    if inner_start >= inner_end:
        return [(start, end)], None
    edges = [(a, b) for a, b in ((start, inner_start), (inner_end, end)) if a < b]
    return edges, (inner_start, inner_end)


def raw_in(business_id: int, ranges: list[Range]) -> QuerySet | None:
    if not ranges:
        return None
    condition = Q()
    for a, b in ranges:
        condition |= Q(occurred_at__gte=a, occurred_at__lt=b)
    return IntegrationActivity.objects.filter(condition, business_id=business_id)


def _rollups(business_id: int, start: dt.datetime, end: dt.datetime) -> QuerySet:
    return ActivityHourly.objects.filter(business_id=business_id, hour__gte=start, hour__lt=end)


def connection_counts(
    business_id: int,
    start: dt.datetime,
    end: dt.datetime,
    *,
    complete_until: dt.datetime | None = None,
) -> dict[int, Counts]:
    """Totals per connection over [start, end), summed in the database; rollups serve the
    whole hours before `complete_until`, raw rows the rest."""
    edges, middle = segments(start, end, complete_until)
    queries = []
    if (raw := raw_in(business_id, edges)) is not None:
        queries.append(raw.order_by().values("connection_id").annotate(**COUNT_ANNOTATIONS))
    if middle:
        queries.append(
            _rollups(business_id, *middle)
            .order_by()
            .values("connection_id")
            .annotate(**ROLLUP_SUMS)
        )
    totals: dict[int, Counts] = {}
    for rows in queries:
        for row in rows:
            totals.setdefault(row["connection_id"], Counts()).add(counts_from(row))
    return totals


def bucket_counts(
    business_id: int,
    start: dt.datetime,
    end: dt.datetime,
    *,
    bucket: str,
    tz,
    complete_until: dt.datetime | None = None,
) -> dict[tuple[int, dt.datetime], tuple[int, int]]:
    """(connection, bucket start) -> (operations, successes), buckets being UTC hours or the
    business's local days, grouped in the database."""

    def trunc(field: str):
        return TruncHour(field, tzinfo=dt.UTC) if bucket == "hour" else TruncDay(field, tzinfo=tz)

    edges, middle = segments(start, end, complete_until)
    queries = []
    if (raw := raw_in(business_id, edges)) is not None:
        queries.append(
            raw.annotate(bucket=trunc("occurred_at"))
            .order_by()
            .values("connection_id", "bucket")
            .annotate(ops=Count("id"), ok=Count("id", filter=Q(outcome=Outcome.SUCCESS)))
        )
    if middle:
        queries.append(
            _rollups(business_id, *middle)
            .annotate(bucket=trunc("hour"))
            .order_by()
            .values("connection_id", "bucket")
            .annotate(ops=Sum("operations"), ok=Sum("successes"))
        )
    out: dict[tuple[int, dt.datetime], tuple[int, int]] = {}
    for rows in queries:
        for row in rows.values_list("connection_id", "bucket", "ops", "ok"):
            connection_id, start_at, ops, ok = row
            before = out.get((connection_id, start_at), (0, 0))
            out[(connection_id, start_at)] = (before[0] + ops, before[1] + (ok or 0))
    return out


# --- error messages ------------------------------------------------------------------------------
_SIGNATURE_RULES = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I), "<id>"),
    (re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"), "<email>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)[0-9a-f]{12,}\b", re.I), "<id>"),
    (re.compile(r"'[^']*'"), "'…'"),
    (re.compile(r'"[^"]*"'), '"…"'),
    (re.compile(r"\d+(?:\.\d+)?"), "#"),
]


def error_signature(message: str) -> str:
    """The message with what varies between occurrences (ids, numbers, names) blanked out, so
    'Invoice 41 rejected' and 'Invoice 42 rejected' count as one error."""
    text = message.strip() or "(no message)"
    for pattern, replacement in _SIGNATURE_RULES:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())[:500]


@dataclasses.dataclass
class ErrorGroup:
    connection_id: int
    signature: str
    outcome: str
    count: int
    latest_message: str
    latest_at: dt.datetime
    hour: dt.datetime | None = None

    @property
    def outcome_label(self) -> str:
        """What a person reads instead of the code: "Setup incomplete", "Temporary error"."""
        return Outcome(self.outcome).label if self.outcome in Outcome.values else self.outcome


def _merge_error(groups: dict, key: tuple, incoming: ErrorGroup) -> None:
    group = groups.get(key)
    if group is None:
        groups[key] = incoming
        return
    group.count += incoming.count
    if incoming.latest_at >= group.latest_at:
        group.latest_at, group.latest_message = incoming.latest_at, incoming.latest_message
        group.outcome = incoming.outcome


def raw_error_groups(
    business_id: int, ranges: list[Range], *, hourly: bool = False
) -> list[ErrorGroup]:
    """Errors grouped by (connection, signature), or by (connection, hour, signature)."""
    raw = raw_in(business_id, ranges)
    if raw is None:
        return []
    rows = (
        raw.exclude(outcome=Outcome.SUCCESS)
        .order_by("occurred_at", "id")
        .values_list("connection_id", "outcome", "error_message", "occurred_at")
    )
    groups: dict[tuple, ErrorGroup] = {}
    for connection_id, outcome, message, occurred_at in rows:
        signature = error_signature(message)
        hour = floor_hour(occurred_at) if hourly else None
        incoming = ErrorGroup(
            connection_id=connection_id,
            signature=signature,
            outcome=outcome,
            count=1,
            latest_message=message or "(no message)",
            latest_at=occurred_at,
            hour=hour,
        )
        _merge_error(groups, (connection_id, hour, signature), incoming)
    return list(groups.values())


def error_groups(
    business_id: int,
    start: dt.datetime,
    end: dt.datetime,
    *,
    complete_until: dt.datetime | None = None,
) -> list[ErrorGroup]:
    edges, middle = segments(start, end, complete_until)
    found = raw_error_groups(business_id, edges)
    if middle:
        found += [
            ErrorGroup(
                connection_id=row[0],
                signature=row[1],
                outcome=row[2],
                count=row[3],
                latest_message=row[4],
                latest_at=row[5],
            )
            for row in ActivityErrorHourly.objects.filter(
                business_id=business_id, hour__gte=middle[0], hour__lt=middle[1]
            ).values_list(
                "connection_id", "signature", "outcome", "count", "last_message", "last_at"
            )
        ]
    groups: dict[tuple, ErrorGroup] = {}
    for group in found:
        group.hour = None
        _merge_error(groups, (group.connection_id, group.signature), group)
    return sorted(groups.values(), key=lambda g: (-g.count, -g.latest_at.timestamp()))


# --- percentiles ---------------------------------------------------------------------------------
class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""

    function = "percentile_cont"
    template = "%(function)s(%(percentile)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def percentile(values: list[int], fraction: float) -> float | None:
    """The same interpolation as percentile_cont, for databases without it."""
    if not values:
        return None
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def p95_by(queryset: QuerySet, group: str) -> dict[object, float]:
    """95th percentile of duration_ms for each value of `group` (computed in the database
    on PostgreSQL, in Python elsewhere)."""
    if db_connection.vendor == "postgresql":
        rows = (
            queryset.order_by()
            .values(group)
            .annotate(p95=PercentileCont("duration_ms", percentile=0.95))
            .values_list(group, "p95")
        )
        return dict(rows)
    durations: dict[object, list[int]] = {}
    for key, duration in queryset.order_by().values_list(group, "duration_ms"):
        durations.setdefault(key, []).append(duration)
    return {key: percentile(values, 0.95) for key, values in durations.items()}
