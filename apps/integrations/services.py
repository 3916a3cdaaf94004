"""Writes on integration connections: provisioning, credentials, testing, syncing, schedules."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import partial

import structlog
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from apps.core.errors import DomainError
from apps.core.models import Business
from apps.core.timezones import zone_of
from apps.integrations.activity import (
    activity_record,
    connection_note_failure,
    outcome_of,
    safe_message,
)
from apps.integrations.errors import (
    AuthenticationError,
    NotConfigured,
    ProviderError,
    TemporaryError,
)
from apps.integrations.models import (
    AccountMapping,
    ActivityKind,
    ConnectionStatus,
    Environment,
    IntegrationConnection,
    Outcome,
    ProviderKey,
    SyncLog,
    SyncRecordError,
)
from apps.integrations.providers import ConnectionCheck, provider_class_for, provider_for
from apps.integrations.schedules import crontab_fields

logger = structlog.get_logger(__name__)

SCHEDULED_SYNC_TASK = "apps.integrations.tasks.connection_sync_scheduled_task"


def _validate_base_url(url: str) -> str:
    if not url:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError:
        raise DomainError(f"'{url}' is not a valid http(s) URL.", field="api_base_url") from None
    return url.rstrip("/")


@transaction.atomic
def connection_upsert(
    *,
    business: Business,
    provider: str,
    name: str,
    credentials: dict | None = None,
    settings: dict | None = None,
    environment: str | None = None,
    api_base_url: str | None = None,
    external_account_id: str | None = None,
) -> tuple[IntegrationConnection, bool]:
    """Create or update the business's connection (business, provider, name). Credentials merge."""
    if provider not in ProviderKey.values:
        raise DomainError(
            f"Unknown provider '{provider}'. Known: {', '.join(ProviderKey.values)}.",
            field="provider",
        )
    if environment is not None and environment not in Environment.values:
        raise DomainError(
            f"Environment must be one of: {', '.join(Environment.values)}.", field="environment"
        )
    if not name.strip():
        raise DomainError("A connection needs a name.", field="name")
    connection, created = IntegrationConnection.objects.select_for_update().get_or_create(
        business=business, provider=provider, name=name.strip()
    )
    if credentials:
        connection.credentials = {**(connection.credentials or {}), **credentials}
    if settings:
        connection.settings = {**(connection.settings or {}), **settings}
    if environment is not None:
        connection.environment = environment
    if api_base_url is not None:
        connection.api_base_url = _validate_base_url(api_base_url)
    if external_account_id is not None:
        connection.external_account_id = external_account_id
    connection.save()
    return connection, created


def connection_credentials_replace(
    *, connection: IntegrationConnection, credentials: dict
) -> IntegrationConnection:
    if not isinstance(credentials, dict):
        raise DomainError("Credentials must be a JSON object.", field="credentials")
    connection.credentials = credentials
    connection.status = ConnectionStatus.PENDING
    connection.save(update_fields=["credentials", "status", "updated_at"])
    return connection


def connection_test(*, connection: IntegrationConnection) -> ConnectionCheck:
    """Ask the vendor whether the credentials work; the connection's status follows the answer."""
    try:
        provider = provider_for(connection)
        provider.check_credentials()
        check = provider.test_connection()
    except NotConfigured as exc:
        return ConnectionCheck(ok=False, message=str(exc))
    except ProviderError as exc:
        connection_note_failure(connection, exc)
        hint = " Reconnect the account." if isinstance(exc, AuthenticationError) else ""
        return ConnectionCheck(ok=False, message=safe_message(connection, exc) + hint)
    status = ConnectionStatus.CONNECTED if check.ok else ConnectionStatus.ERROR
    IntegrationConnection.objects.filter(pk=connection.pk).update(
        status=status, updated_at=timezone.now()
    )
    connection.status = status
    return check


def _resources_for(connection: IntegrationConnection, resources: Iterable[str] | None) -> list[str]:
    cls = provider_class_for(connection.provider)
    if cls is None:
        raise DomainError(f"No adapter is installed for {connection.get_provider_display()} yet.")
    known = list(cls.resources)
    if not known:
        raise DomainError(f"{connection.get_provider_display()} has nothing to sync.")
    wanted = list(resources) if resources else known
    unknown = [r for r in wanted if r not in cls.resources]
    if unknown:
        raise DomainError(
            f"{connection.get_provider_display()} cannot sync {', '.join(unknown)}. It syncs: {', '.join(known)}.",
            field="resources",
        )
    return wanted


@transaction.atomic
def sync_request(
    *,
    connection: IntegrationConnection,
    resources: Iterable[str] | None = None,
    trigger: str = SyncLog.Trigger.MANUAL,
) -> list[SyncLog]:
    """Queue one sync run per resource; the SyncLog rows are the durable record of the request."""
    if not connection.sync_enabled:
        raise DomainError(f"Sync is turned off for {connection}.")
    if connection.status == ConnectionStatus.NEEDS_RECONNECT:
        raise DomainError(f"{connection} needs to be reconnected before it can sync.")
    cls = provider_class_for(connection.provider)
    logs = [
        SyncLog.objects.create(
            business_id=connection.business_id,
            connection=connection,
            sync_type=resource,
            direction=cls.resources[resource],
            trigger=trigger,
        )
        for resource in _resources_for(connection, resources)
    ]
    from apps.integrations.tasks import connection_sync_task

    for log in logs:
        transaction.on_commit(partial(connection_sync_task.delay, log.pk))
    return logs


def connection_sync(*, sync_log_id: int) -> SyncLog:
    """Run one queued sync. Per-record failures are stored; temporary errors propagate for retry."""
    log = SyncLog.objects.select_related("connection").get(pk=sync_log_id)
    if log.status in (SyncLog.Status.SUCCEEDED, SyncLog.Status.PARTIAL):
        return log  # a redelivered task: the run already happened
    connection = log.connection
    log.status, log.started_at = SyncLog.Status.RUNNING, timezone.now()
    log.save(update_fields=["status", "started_at"])
    try:
        if connection.status == ConnectionStatus.NEEDS_RECONNECT:
            raise AuthenticationError(f"{connection} needs to be reconnected.")
        outcome = provider_for(connection).sync(resource=log.sync_type, sync_log=log)
    except TemporaryError as exc:
        _finish(
            log,
            status=SyncLog.Status.QUEUED,
            message=f"Will retry: {safe_message(connection, exc)}",
            outcome=outcome_of(exc),
        )
        raise
    except ProviderError as exc:
        if not isinstance(exc, NotConfigured):
            connection_note_failure(connection, exc)
        _finish(
            log,
            status=SyncLog.Status.FAILED,
            message=safe_message(connection, exc),
            outcome=outcome_of(exc),
        )
        return log
    for failure in outcome.failures:
        SyncRecordError.objects.create(
            business_id=log.business_id,
            sync_log=log,
            record_type=failure.record_type,
            record_id=failure.record_id,
            record_label=failure.record_label,
            message=failure.message,
            vendor_code=failure.vendor_code,
        )
    failed = len(outcome.failures)
    status = SyncLog.Status.SUCCEEDED if not failed else SyncLog.Status.PARTIAL
    if failed and not outcome.succeeded:
        status = SyncLog.Status.FAILED
    log.processed = max(outcome.processed, outcome.succeeded + failed)
    log.succeeded, log.failed = outcome.succeeded, failed
    _finish(
        log,
        status=status,
        message=outcome.message,
        outcome=Outcome.SUCCESS if status == SyncLog.Status.SUCCEEDED else Outcome.REJECTED,
    )
    IntegrationConnection.objects.filter(pk=connection.pk).update(last_sync_at=log.completed_at)
    return log


def _finish(log: SyncLog, *, status: str, message: str, outcome: str) -> None:
    log.status, log.message = status, message
    if status != SyncLog.Status.QUEUED:
        log.completed_at = timezone.now()
        log.duration_ms = int((log.completed_at - log.started_at).total_seconds() * 1000)
    log.save()
    activity_record(
        connection=log.connection,
        kind=ActivityKind.SYNC,
        operation=f"sync {log.sync_type}",
        outcome=outcome,
        duration_ms=log.duration_ms or 0,
        error_message="" if outcome == Outcome.SUCCESS else message,
    )


def sync_record_error_retry(*, record_error: SyncRecordError) -> SyncLog:
    """Queue the failed record's resource again and mark the error retried."""
    log = record_error.sync_log
    (new_log,) = sync_request(
        connection=log.connection, resources=[log.sync_type], trigger=SyncLog.Trigger.MANUAL
    )
    record_error.status, record_error.resolved_at = SyncRecordError.Status.RETRIED, timezone.now()
    record_error.save(update_fields=["status", "resolved_at"])
    return new_log


def sync_record_error_dismiss(*, record_error: SyncRecordError) -> None:
    record_error.status, record_error.resolved_at = SyncRecordError.Status.DISMISSED, timezone.now()
    record_error.save(update_fields=["status", "resolved_at"])


def account_mapping_set(
    *,
    connection: IntegrationConnection,
    kind: str,
    local_key: str,
    remote_id: str,
    remote_name: str = "",
) -> AccountMapping:
    if kind not in AccountMapping.Kind.values:
        raise DomainError(
            f"Mapping kind must be one of: {', '.join(AccountMapping.Kind.values)}.", field="kind"
        )
    mapping, _ = AccountMapping.objects.update_or_create(
        connection=connection,
        kind=kind,
        local_key=local_key,
        defaults={
            "business_id": connection.business_id,
            "remote_id": remote_id,
            "remote_name": remote_name,
        },
    )
    return mapping


def schedule_name(connection: IntegrationConnection, resource: str) -> str:
    return f"integration:{connection.pk}:{resource}"


@transaction.atomic
def connection_schedule_set(
    *,
    connection: IntegrationConnection,
    resource: str,
    every_minutes: int | None = None,
    crontab: str | None = None,
    enabled: bool = True,
) -> PeriodicTask:
    """One django-celery-beat row per (connection, resource), editable in the admin afterwards."""
    _resources_for(connection, [resource])
    if (every_minutes is None) == (crontab is None):
        raise DomainError(
            "Give either an interval in minutes or a crontab, not both.", field="schedule"
        )
    schedule: dict = {"interval": None, "crontab": None}
    if every_minutes is not None:
        if every_minutes < 1:
            raise DomainError("The interval must be at least one minute.", field="schedule")
        schedule["interval"], _ = IntervalSchedule.objects.get_or_create(
            every=every_minutes, period=IntervalSchedule.MINUTES
        )
    else:
        # Read in the business's zone: "0 3 * * *" is 03:00 local, summer and winter.
        minute, hour, day_of_month, month_of_year, day_of_week = crontab_fields(crontab)
        schedule["crontab"], _ = CrontabSchedule.objects.get_or_create(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
            timezone=str(zone_of(connection.business)),
        )
    task, _ = PeriodicTask.objects.update_or_create(
        name=schedule_name(connection, resource),
        defaults={
            **schedule,
            "task": SCHEDULED_SYNC_TASK,
            "kwargs": json.dumps({"connection_id": connection.pk, "resources": [resource]}),
            "enabled": enabled,
            "queue": "sync",
            "description": f"Sync {resource} for {connection} ({connection.business})",
        },
    )
    return task


def connection_schedules(connection: IntegrationConnection):
    return PeriodicTask.objects.filter(name__startswith=f"integration:{connection.pk}:").order_by(
        "name"
    )
