"""Celery tasks: load by id, call one idempotent service."""

from celery import shared_task


@shared_task(bind=True, acks_late=True, max_retries=8)
def connection_sync_task(self, sync_log_id: int) -> None:
    from apps.integrations.services import SyncRetry, connection_sync

    try:
        connection_sync(
            sync_log_id=sync_log_id,
            attempt=self.request.retries,
            max_attempts=self.max_retries + 1,
        )
    except SyncRetry as exc:
        # The log says when (a rate limit waits for the vendor's window, not a loop); on the
        # last attempt the service fails the log instead of raising this.
        raise self.retry(exc=exc.cause, countdown=exc.delay) from exc


@shared_task(acks_late=True)
def connection_sync_scheduled_task(connection_id: int, resources: list[str] | None = None) -> None:
    from apps.core.errors import DomainError
    from apps.integrations.models import IntegrationConnection, SyncLog
    from apps.integrations.services import connection_ready_for_schedule, sync_request

    connection = IntegrationConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return
    if not connection_ready_for_schedule(connection):
        return  # not connected yet (the default schedules exist from set-up): nothing to run
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
