"""Writes on integration connections: provisioning, credentials, testing, syncing, schedules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from functools import partial

import structlog
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.errors import DomainError
from apps.core.models import Business
from apps.integrations.activity import (
    activity_record,
    connection_note_failure,
    outcome_of,
    safe_message,
)
from apps.integrations.connection_settings import (  # noqa: F401  (re-exported)
    connection_settings_record,
    connection_settings_update,
    merge_settings,
)
from apps.integrations.errors import (
    AuthenticationError,
    NotConfigured,
    ProviderError,
    RateLimited,
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
    ReportSeverity,
    SyncLog,
    SyncRecordError,
)
from apps.integrations.providers import (
    ConnectionCheck,
    credentials_parse,
    provider_class_for,
    provider_for,
    settings_parse,
)
from apps.integrations.schedules import (  # noqa: F401  (re-exported: the services' one entry point)
    SCHEDULED_SYNC_TASK,
    connection_defaults_ensure,
    connection_schedule_set,
    connection_schedules,
    schedule_name,
)

logger = structlog.get_logger(__name__)


def _validate_base_url(provider: str, url: str) -> str:
    if not url:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(url.strip())
    except ValidationError:
        raise DomainError(f"'{url}' is not a valid http(s) URL.", field="api_base_url") from None
    cls = provider_class_for(provider)
    return cls.normalize_base_url(url) if cls else url.strip().rstrip("/")


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
    """Create or update the business's connection (business, provider, name). Credentials and
    settings merge, each parsed by the provider's declarations (unknown keys and bad values are
    refused, nothing is stored); a new connection gets the provider's default schedules."""
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
    cleaned_credentials = credentials_parse(provider, credentials or {})
    cleaned_settings = settings_parse(provider, settings or {})
    base_url = _validate_base_url(provider, api_base_url) if api_base_url is not None else None
    connection, created = IntegrationConnection.objects.select_for_update().get_or_create(
        business=business, provider=provider, name=name.strip()
    )
    if cleaned_credentials:
        connection.credentials = {**(connection.credentials or {}), **cleaned_credentials}
    if cleaned_settings:
        connection.settings = merge_settings(connection.settings, cleaned_settings)
    if environment is not None:
        connection.environment = environment
    if base_url is not None:
        connection.api_base_url = base_url
    if external_account_id is not None:
        connection.external_account_id = external_account_id.strip()
    connection.save()
    if created:
        connection_defaults_ensure(connection=connection)
    return connection, created


def connection_credentials_replace(
    *, connection: IntegrationConnection, credentials: dict
) -> IntegrationConnection:
    if not isinstance(credentials, dict):
        raise DomainError("Credentials must be a JSON object.", field="credentials")
    connection.credentials = credentials_parse(connection.provider, credentials)
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


def connection_ready_for_schedule(connection: IntegrationConnection) -> bool:
    """Whether a scheduled run has something to work with: an adapter and its credentials. A
    connection set up but not connected yet has its default schedules and waits quietly."""
    try:
        provider_for(connection).check_credentials()
    except NotConfigured:
        return False
    return True


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
    enqueue: bool = True,
) -> list[SyncLog]:
    """Queue one sync run per resource; the SyncLog rows are the durable record of the request.
    `enqueue` False: the caller runs them itself (the CLI's --wait) with connection_sync."""
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

    for log in logs if enqueue else ():
        transaction.on_commit(partial(connection_sync_task.delay, log.pk))
    return logs


FINAL = (SyncLog.Status.SUCCEEDED, SyncLog.Status.PARTIAL, SyncLog.Status.FAILED)


class SyncRetry(Exception):
    """A run stopped by a temporary vendor error, with attempts left: retry after `delay` s."""

    def __init__(self, delay: float, cause: TemporaryError):
        super().__init__(str(cause))
        self.delay, self.cause = delay, cause


def retry_delay(error: TemporaryError, attempt: int) -> float:
    """When to try again: the vendor's own window for a rate limit, else exponential back-off."""
    if isinstance(error, RateLimited):
        return max(1.0, float(error.retry_after or 60))
    return float(min(600, 15 * 2**attempt))


def connection_sync(*, sync_log_id: int, attempt: int = 0, max_attempts: int = 1) -> SyncLog:
    """Run one queued sync; the log always ends in a final state or says when it is retried.

    Per-record reports are stored (errors fail the run, warnings and information do not). A
    temporary vendor error with attempts left keeps the log queued with `next_attempt_at` and
    raises SyncRetry for the task to re-queue itself; on the last attempt (a run in the CLI's
    process has one) the log fails with the reason.
    """
    log = SyncLog.objects.select_related("connection").get(pk=sync_log_id)
    if log.status in FINAL:
        return log  # a redelivered task: the run already happened
    connection = log.connection
    log.status, log.started_at, log.next_attempt_at = (
        SyncLog.Status.RUNNING,
        timezone.now(),
        None,
    )
    log.save(update_fields=["status", "started_at", "next_attempt_at"])
    try:
        if connection.status == ConnectionStatus.NEEDS_RECONNECT:
            raise AuthenticationError(f"{connection} needs to be reconnected.")
        outcome = provider_for(connection).sync(resource=log.sync_type, sync_log=log)
    except TemporaryError as exc:
        message = safe_message(connection, exc)
        if attempt + 1 < max_attempts:
            delay = retry_delay(exc, attempt)
            log.next_attempt_at = timezone.now() + dt.timedelta(seconds=delay)
            when = timezone.localtime(log.next_attempt_at, connection.business.timezone)
            _finish(
                log,
                status=SyncLog.Status.QUEUED,
                message=f"Will retry at {when:%H:%M:%S} (attempt {attempt + 2} of "
                f"{max_attempts}): {message}",
                outcome=outcome_of(exc),
            )
            raise SyncRetry(delay, exc) from exc
        tries = f" after {attempt + 1} attempts" if attempt else ""
        _finish(
            log,
            status=SyncLog.Status.FAILED,
            message=f"{message} (a temporary error{tries}; run the sync again later).",
            outcome=outcome_of(exc),
        )
        return log
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
    except BaseException:
        # A bug or a lost database must not leave the run "running" for ever; the traceback
        # goes to the log, not to the page (it may quote a vendor's answer).
        logger.exception("sync_run_crashed", sync_log_id=log.pk)
        _finish(
            log,
            status=SyncLog.Status.FAILED,
            message="The run stopped on an unexpected error (see the server log); run it again.",
            outcome=Outcome.TEMPORARY_ERROR,
        )
        raise
    errors = [f for f in outcome.failures if f.severity == ReportSeverity.ERROR]
    recorded = _reports_store(log, outcome.failures)
    warnings = sum(1 for f in recorded if f.severity != ReportSeverity.ERROR)
    status = SyncLog.Status.SUCCEEDED if not errors else SyncLog.Status.PARTIAL
    if errors and not outcome.succeeded:
        status = SyncLog.Status.FAILED
    log.processed = max(outcome.processed, outcome.succeeded + len(errors))
    log.succeeded, log.failed, log.warnings = outcome.succeeded, len(errors), warnings
    message = outcome.message
    if warnings:
        message = f"{message} {warnings} report(s) to look at (not errors).".strip()
    _finish(
        log,
        status=status,
        message=message,
        outcome=Outcome.SUCCESS if status == SyncLog.Status.SUCCEEDED else Outcome.REJECTED,
    )
    IntegrationConnection.objects.filter(pk=connection.pk).update(last_sync_at=log.completed_at)
    return log


def _reports_store(log: SyncLog, failures) -> list:
    """Store the run's reports; a report whose vendor change was recorded before is skipped.
    Returns those stored."""
    stored = []
    for failure in failures:
        row = SyncRecordError(
            business_id=log.business_id,
            sync_log=log,
            record_type=failure.record_type,
            record_id=failure.record_id,
            record_label=failure.record_label,
            message=failure.message,
            vendor_code=failure.vendor_code,
            severity=failure.severity,
            dedupe_key=failure.dedupe_key[:200],
        )
        if not row.dedupe_key:
            row.save()
            stored.append(failure)
            continue
        try:
            with transaction.atomic():  # the unique constraint decides, not a read
                row.save()
        except IntegrityError:
            continue
        stored.append(failure)
    return stored


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


def connection_backfill(
    *, connection: IntegrationConnection, since: dt.date, resources: Iterable[str] | None = None
) -> list[str]:
    """Owe the connection what existed before it, from `since` on (its next runs send it);
    returns what was found and owed, in words. Safe to repeat: nothing is owed twice."""
    cls = provider_class_for(connection.provider)
    offered = cls.backfill_resources if cls else ()
    if not offered:
        raise DomainError(f"{connection.get_provider_display()} has no backfill.")
    wanted = list(resources) if resources else list(offered)
    unknown = [r for r in wanted if r not in offered]
    if unknown:
        raise DomainError(
            f"{connection.get_provider_display()} backfills {', '.join(offered)}; "
            f"not {', '.join(unknown)}.",
            field="resources",
        )
    return provider_for(connection).backfill(since=since, resources=wanted)


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
