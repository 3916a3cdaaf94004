"""Celery tasks: load by id, call one idempotent service."""

from celery import shared_task

from apps.integrations.errors import RateLimited, TemporaryError


@shared_task(bind=True, acks_late=True, max_retries=8)
def connection_sync_task(self, sync_log_id: int) -> None:
    from apps.integrations.services import connection_sync

    try:
        connection_sync(sync_log_id=sync_log_id)
    except RateLimited as exc:
        # Postpone to when the vendor's window opens, rather than retrying in a loop.
        raise self.retry(exc=exc, countdown=max(1, int(exc.retry_after or 60))) from exc
    except TemporaryError as exc:
        raise self.retry(exc=exc, countdown=min(600, 15 * 2**self.request.retries)) from exc


@shared_task(acks_late=True)
def connection_sync_scheduled_task(connection_id: int, resources: list[str] | None = None) -> None:
    from apps.core.errors import DomainError
    from apps.integrations.models import IntegrationConnection, SyncLog
    from apps.integrations.services import sync_request

    connection = IntegrationConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return
    try:
        sync_request(connection=connection, resources=resources, trigger=SyncLog.Trigger.SCHEDULE)
    except DomainError:
        return  # sync turned off or needs reconnect: the connection already says so


@shared_task(acks_late=True)
def inbound_event_process_task(event_id: int) -> None:
    from apps.integrations.inbox import inbound_event_process

    inbound_event_process(event_id=event_id)


@shared_task(acks_late=True)
def connection_schedules_rezone_task(business_id: int) -> None:
    from apps.integrations.schedules import connection_schedules_rezone

    connection_schedules_rezone(business_id=business_id)
