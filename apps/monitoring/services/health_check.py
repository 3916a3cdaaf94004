"""The hourly health check: turn each business's health into alerts.

Findings: a connection that needs reconnecting, one whose setup is incomplete (credentials or app
keys missing), one that has never worked, one that went stale or degraded, and one whose
scheduled syncs have not succeeded for the business's sync-silence period (24 hours by default;
longer when its schedule runs less often than that).
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from apps.core.models import Business
from apps.integrations.models import IntegrationConnection
from apps.monitoring.models import Alert
from apps.monitoring.selectors.expectations import SCHEDULE_GRACE, scheduled_gaps
from apps.monitoring.selectors.health import Health, Status, business_health, settings_for
from apps.monitoring.services.alerts import Finding, Reconciled, alerts_reconcile

HEALTH_KINDS = (
    Alert.Kind.NEEDS_RECONNECT,
    Alert.Kind.NEEDS_SETUP,
    Alert.Kind.FAILING,
    Alert.Kind.STALE,
    Alert.Kind.DEGRADED,
    Alert.Kind.SYNC_SILENT,
)


def _ago(delta: dt.timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} minutes"
    hours = minutes // 60
    return f"{hours} hours" if hours < 48 else f"{hours // 24} days"


def _status_finding(health: Health, now: dt.datetime) -> Finding | None:
    name = f"{health.provider_label} ({health.name})"
    key = f"{health.status}:{health.key}"
    if health.status == Status.NEEDS_RECONNECT:
        return Finding(
            kind=Alert.Kind.NEEDS_RECONNECT,
            key=key,
            severity=Alert.Severity.CRITICAL,
            title=f"{name} needs to be reconnected",
            message=(
                "The vendor refused our credentials. Someone with access to the account must "
                "reconnect it; until then nothing syncs."
                + (f" Last error: {health.last_error}" if health.last_error else "")
            ),
            connection_id=health.key,
        )
    if health.status == Status.NEEDS_SETUP:
        return Finding(
            kind=Alert.Kind.NEEDS_SETUP,
            key=key,
            severity=Alert.Severity.CRITICAL,
            title=f"{name} is not set up yet",
            message=(
                "Something it needs is missing, so nothing is sent or synced; retrying will not "
                "help. " + (health.last_error or "Open the connection and complete its setup.")
            ),
            connection_id=health.key,
        )
    if health.status == Status.FAILING:
        return Finding(
            kind=Alert.Kind.FAILING,
            key=key,
            severity=Alert.Severity.CRITICAL,
            title=f"{name} has never worked",
            message=(
                "Every attempt so far has failed. Check its credentials, account and base URL, "
                "then use Test connection."
                + (f" Latest error: {health.last_error}" if health.last_error else "")
            ),
            connection_id=health.key,
        )
    if health.status == Status.STALE:
        last = health.counts.last_activity_at
        silence = f"for {_ago(now - last)}" if last else "since it was set up"
        return Finding(
            kind=Alert.Kind.STALE,
            key=key,
            severity=Alert.Severity.WARNING,
            title=f"No activity from {name} {silence}",
            message="It is scheduled to sync, but nothing has happened. Check that the workers "
            "and the schedule are running.",
            connection_id=health.key,
        )
    if health.status == Status.DEGRADED:
        return Finding(
            kind=Alert.Kind.DEGRADED,
            key=key,
            severity=Alert.Severity.WARNING,
            title=f"{name} is degraded: {health.errors} errors in 24 hours",
            message=f"Success rate {health.success_rate} % over {health.operations} operations."
            + (f" Latest error: {health.last_error}" if health.last_error else ""),
            connection_id=health.key,
        )
    return None


def health_check_run(*, business: Business, now: dt.datetime | None = None) -> Reconciled:
    now = now or timezone.now()
    settings = settings_for(business)
    health = business_health(business=business, now=now, settings=settings)
    findings = []
    by_id = {h.key: h for h in health.connections}
    for item in health.connections:
        finding = _status_finding(item, now)
        if finding is not None:
            findings.append(finding)
    connections = list(IntegrationConnection.objects.filter(business=business))
    silence_limit = dt.timedelta(hours=settings.sync_silence_hours)
    for connection_id, gap in scheduled_gaps(connections).items():
        item = by_id[connection_id]
        if item.status in (
            Status.DISABLED,
            Status.NEEDS_RECONNECT,
            Status.NEEDS_SETUP,
            Status.FAILING,
        ):
            continue  # nothing can sync; the connection's own alert already says why
        connection = next(c for c in connections if c.pk == connection_id)
        last_sync = connection.last_sync_at or connection.created_at
        if now - last_sync > max(silence_limit, gap + SCHEDULE_GRACE):
            seen = "never" if connection.last_sync_at is None else f"{_ago(now - last_sync)} ago"
            findings.append(
                Finding(
                    kind=Alert.Kind.SYNC_SILENT,
                    key=f"sync_silent:{connection_id}",
                    severity=Alert.Severity.CRITICAL,
                    title=f"{item.provider_label} ({item.name}) has not synced successfully "
                    f"for {_ago(now - last_sync)}",
                    message=f"Last successful sync: {seen}. Recent syncs failed or did not run.",
                    connection_id=connection_id,
                )
            )
    return alerts_reconcile(business=business, findings=findings, kinds=HEALTH_KINDS, now=now)
