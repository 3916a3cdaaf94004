"""The weekly report email: Monday morning in each business's own time zone, a PDF of the last
seven days attached. One WeeklyReportDelivery row per business and week makes it idempotent:
the hourly task creates the row once, and the send task does nothing for a sent row."""

from __future__ import annotations

import datetime as dt
from functools import partial

import structlog
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.models import Business
from apps.integrations.errors import TemporaryError
from apps.monitoring.conf import from_email
from apps.monitoring.models import MonitoringSettings, WeeklyReportDelivery
from apps.monitoring.notify.messages import dashboard_url
from apps.monitoring.pdf import report_filename, report_pdf
from apps.monitoring.selectors.health import settings_for
from apps.monitoring.selectors.report import health_report
from apps.monitoring.services.alerts import alert_recipients

logger = structlog.get_logger(__name__)


def _week_start(local_day: dt.date) -> dt.date:
    return local_day - dt.timedelta(days=local_day.weekday())


def weekly_reports_due(*, now: dt.datetime | None = None) -> list[WeeklyReportDelivery]:
    """Create this week's delivery for every business whose Monday send hour has come."""
    from apps.monitoring.tasks import weekly_report_send_task

    now = now or timezone.now()
    settings_by_business = {s.business_id: s for s in MonitoringSettings.objects.all()}
    created = []
    for business in Business.objects.order_by("pk"):
        settings = settings_by_business.get(business.pk) or MonitoringSettings(business=business)
        if not settings.weekly_report:
            continue
        local = timezone.localtime(now, business.timezone)
        if local.weekday() != 0 or local.hour < settings.weekly_report_hour:
            continue
        if not alert_recipients(settings):
            continue
        try:
            with transaction.atomic():
                delivery = WeeklyReportDelivery.objects.create(
                    business=business, week_start=_week_start(local.date())
                )
                transaction.on_commit(partial(weekly_report_send_task.delay, delivery.pk))
        except IntegrityError:
            continue  # already created this week
        created.append(delivery)
    return created


def weekly_report_send(*, delivery_id: int) -> WeeklyReportDelivery:
    delivery = WeeklyReportDelivery.objects.select_related("business").get(pk=delivery_id)
    if delivery.status == WeeklyReportDelivery.Status.SENT:
        return delivery
    business = delivery.business
    recipients = alert_recipients(settings_for(business))
    # The last full local week, Monday to Monday: a resend reports exactly the same week.
    week_end = timezone.make_aware(
        dt.datetime.combine(delivery.week_start, dt.time()), business.timezone
    )
    report = health_report(business=business, period="7d", now=week_end)
    pdf = report_pdf(report)
    rate = "no activity" if report.success_rate is None else f"{report.success_rate} % success"
    message = EmailMessage(
        subject=f"[{business.name}] Integration health, week of {delivery.week_start:%b %-d}",
        body=(
            f"Integration health for {business.name} over the last 7 days: "
            f"{report.totals.operations} operations, {rate}, {report.totals.errors} errors.\n\n"
            f"The full report is attached. Live health: {dashboard_url()}\n"
        ),
        from_email=from_email(),
        to=recipients,
    )
    message.attach(report_filename(report), pdf, "application/pdf")
    delivery.attempts += 1
    delivery.recipients = ", ".join(recipients)
    try:
        message.send()
    except OSError as exc:
        delivery.status, delivery.error = WeeklyReportDelivery.Status.FAILED, str(exc)[:1000]
        delivery.save(update_fields=["status", "error", "attempts", "recipients"])
        logger.warning(
            "weekly_report_failed", delivery_id=delivery.pk, error_class=type(exc).__name__
        )
        raise TemporaryError(str(exc)) from exc
    delivery.status, delivery.sent_at, delivery.error = (
        WeeklyReportDelivery.Status.SENT,
        timezone.now(),
        "",
    )
    delivery.save(update_fields=["status", "sent_at", "error", "attempts", "recipients"])
    return delivery
