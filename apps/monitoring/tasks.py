"""Celery tasks: load by id (or take nothing), call one idempotent service."""

from __future__ import annotations

from celery import shared_task

from apps.integrations.errors import TemporaryError


@shared_task(acks_late=True, ignore_result=True)
def heartbeat_task(queue: str = "default") -> None:
    from apps.monitoring.services.heartbeat import heartbeat_record

    heartbeat_record(component=f"worker:{queue}")


@shared_task(acks_late=True)
def activity_rollup_task() -> None:
    from apps.monitoring.services.rollup import activity_rollup_refresh

    activity_rollup_refresh()


@shared_task(acks_late=True)
def health_check_all_task() -> None:
    """Fan out: one task per business, so one business's failure never skips the others."""
    from apps.core.models import Business

    for business_id in Business.objects.order_by("pk").values_list("pk", flat=True):
        health_check_task.delay(business_id)


@shared_task(acks_late=True)
def health_check_task(business_id: int) -> None:
    from apps.core.models import Business
    from apps.monitoring.services.health_check import health_check_run

    business = Business.objects.filter(pk=business_id).first()
    if business is not None:
        health_check_run(business=business)


@shared_task(acks_late=True)
def oauth_tokens_refresh_task() -> None:
    from apps.monitoring.services.tokens import oauth_tokens_refresh

    oauth_tokens_refresh()


@shared_task(acks_late=True)
def activity_retention_task() -> None:
    from apps.monitoring.services.retention import activity_retention_purge

    activity_retention_purge()


@shared_task(bind=True, acks_late=True, max_retries=8)
def alert_notification_send_task(self, notification_id: int) -> None:
    from apps.monitoring.services.alerts import alert_notification_send

    try:
        alert_notification_send(notification_id=notification_id)
    except TemporaryError as exc:
        raise self.retry(exc=exc, countdown=min(3600, 30 * 2**self.request.retries)) from exc


@shared_task(acks_late=True)
def weekly_reports_task() -> None:
    from apps.monitoring.services.weekly import weekly_reports_due

    weekly_reports_due()


@shared_task(bind=True, acks_late=True, max_retries=5)
def weekly_report_send_task(self, delivery_id: int) -> None:
    from apps.monitoring.services.weekly import weekly_report_send

    try:
        weekly_report_send(delivery_id=delivery_id)
    except TemporaryError as exc:
        raise self.retry(exc=exc, countdown=min(3600, 120 * 2**self.request.retries)) from exc
