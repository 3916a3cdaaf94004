"""Health of every connection and integration type of a business over the last 24 hours.

Rules (the health guide's), thresholds from the business's MonitoringSettings:
disabled > needs reconnect > needs setup (its latest attempt found credentials or app keys
missing) > failing (it has been tried and has never once succeeded) > stale (silent too long
where activity is expected) > degraded (more than N errors) > idle (nothing happened, nothing
expected) > healthy (success rate above X %) > warning (otherwise).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from apps.core.models import Business
from apps.integrations.models import (
    ConnectionStatus,
    IntegrationActivity,
    IntegrationConnection,
    Outcome,
    ProviderKey,
)
from apps.monitoring.models import ActivityHourly, MonitoringSettings
from apps.monitoring.selectors.expectations import expected_gaps, stale_after
from apps.monitoring.selectors.windows import (
    COUNT_ANNOTATIONS,
    Counts,
    counts_from,
    p95_by,
    raw_activity,
    rollup_complete_until,
)

WINDOW = dt.timedelta(hours=24)


class Status:
    DISABLED = "disabled"
    NEEDS_RECONNECT = "needs_reconnect"
    NEEDS_SETUP = "needs_setup"
    FAILING = "failing"
    STALE = "stale"
    DEGRADED = "degraded"
    WARNING = "warning"
    HEALTHY = "healthy"
    IDLE = "idle"

    LABELS = {
        DISABLED: "Disabled",
        NEEDS_RECONNECT: "Needs reconnect",
        NEEDS_SETUP: "Needs setup",
        FAILING: "Failing",
        STALE: "Stale",
        DEGRADED: "Degraded",
        WARNING: "Warning",
        HEALTHY: "Healthy",
        IDLE: "Idle",
    }
    # Worst first: an integration type shows its worst connection.
    SEVERITY = {
        NEEDS_RECONNECT: 8,
        NEEDS_SETUP: 7,
        FAILING: 6,
        STALE: 5,
        DEGRADED: 4,
        WARNING: 3,
        HEALTHY: 2,
        IDLE: 1,
        DISABLED: 0,
    }


@dataclasses.dataclass(frozen=True)
class Thresholds:
    stale_after: dt.timedelta = dt.timedelta(minutes=60)
    degraded_errors: int = 10
    healthy_rate: Decimal = Decimal("95.00")

    @classmethod
    def of(cls, settings: MonitoringSettings) -> Thresholds:
        return cls(
            stale_after=dt.timedelta(minutes=settings.stale_after_minutes),
            degraded_errors=settings.degraded_error_threshold,
            healthy_rate=settings.healthy_success_rate,
        )


def settings_for(business: Business) -> MonitoringSettings:
    """The business's settings, or unsaved defaults (a read never writes)."""
    return MonitoringSettings.objects.filter(business=business).first() or MonitoringSettings(
        business=business
    )


def success_rate(successes: int, operations: int) -> Decimal | None:
    """Percent with two decimals, rounded half up; None when nothing happened."""
    if not operations:
        return None
    return (Decimal(successes * 100) / Decimal(operations)).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def health_status(
    *,
    operations: int,
    successes: int,
    silent_for: dt.timedelta | None,
    stale_after: dt.timedelta | None,
    needs_reconnect: bool,
    disabled: bool,
    thresholds: Thresholds,
    needs_setup: bool = False,
    never_succeeded: bool = False,
) -> str:
    """The rules, on plain numbers. `silent_for` is the time since the last activity (or since
    the connection was created when it never had any); `stale_after` None = nothing expected.
    `needs_setup`: the latest attempt found configuration missing; `never_succeeded`: attempts
    were made and not one ever succeeded."""
    if disabled:
        return Status.DISABLED
    if needs_reconnect:
        return Status.NEEDS_RECONNECT
    if needs_setup:
        return Status.NEEDS_SETUP
    if never_succeeded:
        return Status.FAILING
    if stale_after is not None and silent_for is not None and silent_for > stale_after:
        return Status.STALE
    if operations - successes > thresholds.degraded_errors:
        return Status.DEGRADED
    if not operations:
        return Status.IDLE
    # Exact comparison in integers and decimals: 95.01 % is healthy, 95 % is not.
    if Decimal(successes * 100) > thresholds.healthy_rate * operations:
        return Status.HEALTHY
    return Status.WARNING


@dataclasses.dataclass
class Health:
    """Health of one connection (key = its id) or one integration type (key = provider)."""

    key: object
    name: str
    provider: str
    provider_label: str
    counts: Counts
    p95_ms: int | None
    status: str
    needs_reconnect: bool = False
    connection_status: str = ""
    stale_after: dt.timedelta | None = None
    connections: int = 1
    last_error: str = ""

    @property
    def operations(self) -> int:
        return self.counts.operations

    @property
    def successes(self) -> int:
        return self.counts.successes

    @property
    def errors(self) -> int:
        return self.counts.errors

    @property
    def success_rate(self) -> Decimal | None:
        return success_rate(self.counts.successes, self.counts.operations)

    @property
    def status_label(self) -> str:
        return Status.LABELS[self.status]

    def as_dict(self) -> dict:
        c = self.counts
        return {
            "key": self.key,
            "name": self.name,
            "provider": self.provider,
            "provider_label": self.provider_label,
            "status": self.status,
            "needs_reconnect": self.needs_reconnect,
            "operations": c.operations,
            "successes": c.successes,
            "errors": c.errors,
            "errors_by_outcome": {k: v for k, v in c.by_outcome().items() if k != "success"},
            "success_rate": None if self.success_rate is None else str(self.success_rate),
            "last_activity_at": c.last_activity_at,
            "last_success_at": c.last_success_at,
            "avg_ms": c.avg_ms,
            "p95_ms": self.p95_ms,
            "connections": self.connections,
        }


@dataclasses.dataclass
class BusinessHealth:
    business: Business
    generated_at: dt.datetime
    window_start: dt.datetime
    connections: list[Health]
    integrations: list[Health]
    thresholds: Thresholds

    @property
    def worst_status(self) -> str | None:
        statuses = [h.status for h in self.connections]
        return max(statuses, key=Status.SEVERITY.__getitem__) if statuses else None


def _round_ms(value: float | None) -> int | None:
    if value is None:
        return None
    return int(Decimal(str(value)).quantize(Decimal("1"), rounding=ROUND_HALF_UP))


def business_health(
    *,
    business: Business,
    now: dt.datetime | None = None,
    settings: MonitoringSettings | None = None,
) -> BusinessHealth:
    now = now or timezone.now()
    start = now - WINDOW
    settings = settings or settings_for(business)
    thresholds = Thresholds.of(settings)
    latest = IntegrationActivity.objects.filter(connection=OuterRef("pk")).order_by("-occurred_at")
    connections = list(
        IntegrationConnection.objects.filter(business=business)
        .annotate(
            last_activity=Subquery(latest.values("occurred_at")[:1]),
            last_outcome=Subquery(latest.values("outcome")[:1]),
            # Only read for connections in trouble, and the (connection, occurred_at) index
            # serves it; for healthy ones the 24-hour window already has the answer.
            latest_error=Subquery(
                latest.exclude(outcome="success")
                .filter(occurred_at__gte=start)
                .values("error_message")[:1]
            ),
        )
        .order_by("provider", "name", "pk")
    )
    window = raw_activity(business.pk, start, now + dt.timedelta(microseconds=1))
    per_connection = {
        row["connection_id"]: counts_from(row)
        for row in window.order_by().values("connection_id").annotate(**COUNT_ANNOTATIONS)
    }
    p95_connection = p95_by(window, "connection_id")
    p95_provider = p95_by(window, "connection__provider")
    older_success = _last_success_outside(
        [c.pk for c in connections if not (per_connection.get(c.pk) or Counts()).last_success_at]
    )
    gaps = expected_gaps(connections)

    healths = [
        _connection_health(
            conn,
            counts=per_connection.get(conn.pk) or Counts(),
            older_success=older_success.get(conn.pk),
            stale_limit=stale_after(gaps.get(conn.pk), thresholds.stale_after),
            p95=p95_connection.get(conn.pk),
            now=now,
            thresholds=thresholds,
        )
        for conn in connections
    ]
    return BusinessHealth(
        business=business,
        generated_at=now,
        window_start=start,
        connections=healths,
        integrations=_by_provider(healths, p95_provider),
        thresholds=thresholds,
    )


def _connection_health(
    conn: IntegrationConnection,
    *,
    counts: Counts,
    older_success: dt.datetime | None,
    stale_limit: dt.timedelta | None,
    p95: float | None,
    now: dt.datetime,
    thresholds: Thresholds,
) -> Health:
    counts.last_activity_at = conn.last_activity
    counts.last_success_at = counts.last_success_at or older_success
    needs_reconnect = conn.status == ConnectionStatus.NEEDS_RECONNECT
    status = health_status(
        operations=counts.operations,
        successes=counts.successes,
        silent_for=now - (conn.last_activity or conn.created_at),
        stale_after=stale_limit,
        needs_reconnect=needs_reconnect,
        disabled=conn.status == ConnectionStatus.DISABLED,
        thresholds=thresholds,
        needs_setup=conn.last_outcome == Outcome.CONFIG_ERROR,
        # Tried (activity, or a failed test) and not one success, ever: no successful call in
        # the window or before it, and no sync that ever completed.
        never_succeeded=counts.last_success_at is None
        and conn.last_sync_at is None
        and bool(conn.last_activity or conn.last_error),
    )
    last_error = conn.latest_error or ""
    if not last_error and status in (Status.NEEDS_SETUP, Status.FAILING):
        last_error = conn.last_error  # the reason may be older than the 24-hour window
    return Health(
        key=conn.pk,
        name=conn.name,
        provider=conn.provider,
        provider_label=conn.get_provider_display(),
        counts=counts,
        p95_ms=_round_ms(p95),
        status=status,
        needs_reconnect=needs_reconnect,
        connection_status=conn.status,
        stale_after=stale_limit,
        last_error=last_error,
    )


def _last_success_outside(connection_ids: list[int]) -> dict[int, dt.datetime]:
    """The last success of connections with none in the window: from the rollups, then from the
    raw rows the rollups do not cover yet (those after `complete_until`, or all of them before the
    first rollup), so a connection that worked is never taken for one that never did."""
    if not connection_ids:
        return {}
    rows = (
        ActivityHourly.objects.filter(
            connection_id__in=connection_ids, last_success_at__isnull=False
        )
        .order_by()
        .values("connection_id")
        .annotate(last=Max("last_success_at"))
    )
    found = {row["connection_id"]: row["last"] for row in rows}
    missing = [pk for pk in connection_ids if pk not in found]
    if not missing:
        return found
    raw = IntegrationActivity.objects.filter(connection_id__in=missing, outcome=Outcome.SUCCESS)
    if (complete_until := rollup_complete_until()) is not None:
        raw = raw.filter(occurred_at__gte=complete_until)
    for row in raw.order_by().values("connection_id").annotate(last=Max("occurred_at")):
        found[row["connection_id"]] = row["last"]
    return found


def _by_provider(healths: list[Health], p95_provider: dict) -> list[Health]:
    grouped: dict[str, list[Health]] = {}
    for health in healths:
        grouped.setdefault(health.provider, []).append(health)
    out = []
    for provider, members in grouped.items():
        counts = Counts()
        for member in members:
            counts.add(member.counts)
        out.append(
            Health(
                key=provider,
                name=members[0].provider_label,
                provider=provider,
                provider_label=ProviderKey(provider).label
                if provider in ProviderKey.values
                else provider,
                counts=counts,
                p95_ms=_round_ms(p95_provider.get(provider)),
                status=max((m.status for m in members), key=Status.SEVERITY.__getitem__),
                needs_reconnect=any(m.needs_reconnect for m in members),
                connections=len(members),
            )
        )
    return out
