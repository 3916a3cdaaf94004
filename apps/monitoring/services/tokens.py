"""Refresh OAuth tokens ahead of expiry, so a connection used rarely never lapses.

For every connection that holds a refresh token and whose provider registered a refresher
(apps.integrations.tokens), refresh when the refresh token lapses within the look-ahead, or,
when its lifetime is unknown, when the last refresh is older than the idle period. A refused
grant turns the connection to "needs reconnect" and raises that alert at once; a temporary
failure is tried again next run, with an alert when the token is about to lapse anyway.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import structlog
from django.utils import timezone

from apps.core.timezones import format_local, zone_of
from apps.integrations.activity import connection_note_failure, safe_message
from apps.integrations.errors import AuthenticationError, ProviderError
from apps.integrations.models import ConnectionStatus, IntegrationConnection
from apps.integrations.tokens import refresher_for, token_expiry, token_refreshers
from apps.monitoring.conf import setting
from apps.monitoring.models import Alert
from apps.monitoring.services.alerts import Finding, alert_raise, alert_resolve

logger = structlog.get_logger(__name__)


@dataclasses.dataclass
class RefreshResult:
    refreshed: list[int] = dataclasses.field(default_factory=list)
    failed: list[int] = dataclasses.field(default_factory=list)
    skipped: int = 0


def token_refresh_due(connection: IntegrationConnection, now: dt.datetime) -> bool:
    credentials = connection.credentials or {}
    if not credentials.get("refresh_token"):
        return False
    access_expires, refresh_expires = token_expiry(credentials)
    if refresh_expires is not None:
        ahead = dt.timedelta(hours=int(setting("MONITORING_TOKEN_REFRESH_AHEAD_HOURS")))
        return refresh_expires - now <= ahead
    idle = dt.timedelta(hours=int(setting("MONITORING_TOKEN_IDLE_REFRESH_HOURS")))
    # Access tokens live about an hour, so their expiry dates the last refresh.
    return access_expires is None or now - access_expires >= idle


def _expiring_key(connection: IntegrationConnection) -> str:
    return f"token_expiring:{connection.pk}"


def oauth_tokens_refresh(*, now: dt.datetime | None = None) -> RefreshResult:
    now = now or timezone.now()
    result = RefreshResult()
    candidates = IntegrationConnection.objects.filter(provider__in=list(token_refreshers)).exclude(
        status__in=(ConnectionStatus.DISABLED, ConnectionStatus.NEEDS_RECONNECT)
    )
    for connection in candidates.select_related("business").order_by("pk"):
        if not token_refresh_due(connection, now):
            result.skipped += 1
            continue
        refresher = refresher_for(connection.provider)
        if refresher is None:  # unregistered while we ran
            continue
        try:
            refresher(connection)
        except ProviderError as exc:
            result.failed.append(connection.pk)
            _refresh_failed(connection, exc, now)
            continue
        result.refreshed.append(connection.pk)
        open_alert = Alert.objects.filter(
            business_id=connection.business_id,
            key=_expiring_key(connection),
            resolved_at__isnull=True,
        ).first()
        if open_alert is not None:
            alert_resolve(alert=open_alert, now=now)
    logger.info(
        "oauth_tokens_refresh",
        refreshed=len(result.refreshed),
        failed=len(result.failed),
        skipped=result.skipped,
    )
    return result


def _refresh_failed(
    connection: IntegrationConnection, exc: ProviderError, now: dt.datetime
) -> None:
    message = safe_message(connection, exc)
    logger.warning(
        "oauth_token_refresh_failed",
        connection_id=connection.pk,
        provider=connection.provider,
        error_class=type(exc).__name__,
    )
    label = f"{connection.get_provider_display()} ({connection.name})"
    if isinstance(exc, AuthenticationError):
        connection_note_failure(connection, exc)  # the connection now says "needs reconnect"
        alert_raise(
            business=connection.business,
            finding=Finding(
                kind=Alert.Kind.NEEDS_RECONNECT,
                key=f"needs_reconnect:{connection.pk}",  # the health check's key: one incident
                severity=Alert.Severity.CRITICAL,
                title=f"{label} needs to be reconnected",
                message=f"Renewing its authorization was refused: {message}",
                connection_id=connection.pk,
            ),
            now=now,
        )
        return
    _, refresh_expires = token_expiry(connection.credentials)
    warning = dt.timedelta(hours=int(setting("MONITORING_TOKEN_EXPIRY_WARNING_HOURS")))
    if refresh_expires is not None and refresh_expires - now <= warning:
        alert_raise(
            business=connection.business,
            finding=Finding(
                kind=Alert.Kind.TOKEN_EXPIRING,
                key=_expiring_key(connection),
                severity=Alert.Severity.CRITICAL,
                title=f"{label} authorization lapses "
                f"{format_local(refresh_expires, zone=zone_of(connection.business))}",
                message=f"Renewing it failed and will be retried: {message}",
                connection_id=connection.pk,
            ),
            now=now,
        )
