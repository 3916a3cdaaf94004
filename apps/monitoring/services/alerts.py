"""Alerts: one per incident, a reminder while it stays open, a message when it recovers.

An alert is keyed by what it is about (kind and connection). Findings from each check are
reconciled with the open alerts: a new key opens an alert and notifies; a known key only
reminds once the reminder interval has passed; an open key no longer found is resolved. Every
message is an AlertNotification row delivered by a task after commit (the outbox), so a Slack
outage delays a message, never loses it, and never sends it twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from functools import partial

import structlog
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.core.models import Business, Role, User
from apps.integrations.errors import ProviderError, TemporaryError
from apps.integrations.models import ConnectionStatus
from apps.monitoring.conf import from_email
from apps.monitoring.models import Alert, AlertNotification, MonitoringSettings
from apps.monitoring.notify import messages
from apps.monitoring.notify.slack import SlackWebhookClient
from apps.monitoring.selectors.health import settings_for

logger = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class Finding:
    kind: str
    key: str
    severity: str
    title: str
    message: str = ""
    connection_id: int | None = None


@dataclasses.dataclass
class Reconciled:
    opened: list[Alert] = dataclasses.field(default_factory=list)
    reminded: list[Alert] = dataclasses.field(default_factory=list)
    resolved: list[Alert] = dataclasses.field(default_factory=list)


def alert_recipients(settings: MonitoringSettings) -> list[str]:
    if settings.alert_email_list:
        return settings.alert_email_list
    return sorted(
        User.objects.filter(
            business_id=settings.business_id,
            role__in=(Role.MANAGER, Role.ADMIN),
            is_active=True,
        )
        .exclude(email="")
        .values_list("email", flat=True)
    )


def _channels(settings: MonitoringSettings) -> list[tuple[str, str]]:
    channels = []
    slack = settings.slack_connection
    if slack is not None and slack.status != ConnectionStatus.DISABLED:
        channels.append((AlertNotification.Channel.SLACK, slack.name))
    if settings.email_alerts:
        recipients = alert_recipients(settings)
        if recipients:
            channels.append((AlertNotification.Channel.EMAIL, ", ".join(recipients)))
    return channels


def _notify(alert: Alert, event: str, settings: MonitoringSettings) -> list[AlertNotification]:
    from apps.monitoring.tasks import alert_notification_send_task

    created = []
    for channel, recipients in _channels(settings):
        notification = AlertNotification.objects.create(
            business_id=alert.business_id,
            alert=alert,
            channel=channel,
            event=event,
            recipients=recipients,
        )
        transaction.on_commit(partial(alert_notification_send_task.delay, notification.pk))
        created.append(notification)
    return created


def alert_raise(
    *,
    business: Business,
    finding: Finding,
    now: dt.datetime | None = None,
    settings: MonitoringSettings | None = None,
) -> tuple[Alert, str | None]:
    """Open the incident, or note it is still there (reminding when due).

    Returns the alert and the event notified ("opened", "reminder" or None).
    """
    now = now or timezone.now()
    settings = settings or settings_for(business)
    with transaction.atomic():
        alert = (
            Alert.objects.select_for_update()
            .filter(business=business, key=finding.key, resolved_at__isnull=True)
            .first()
        )
        if alert is None:
            try:
                with transaction.atomic():  # a concurrent check may open the same key first
                    alert = Alert.objects.create(
                        business=business,
                        connection_id=finding.connection_id,
                        kind=finding.kind,
                        severity=finding.severity,
                        key=finding.key,
                        title=finding.title[:200],
                        message=finding.message,
                        opened_at=now,
                        last_seen_at=now,
                        last_notified_at=now,
                    )
            except IntegrityError:
                alert = Alert.objects.select_for_update().get(
                    business=business, key=finding.key, resolved_at__isnull=True
                )
            else:
                _notify(alert, AlertNotification.Event.OPENED, settings)
                return alert, AlertNotification.Event.OPENED
        alert.last_seen_at = now
        alert.title, alert.message = finding.title[:200], finding.message
        alert.severity = finding.severity
        event = None
        reminder_due = (alert.last_notified_at or alert.opened_at) + dt.timedelta(
            minutes=settings.alert_reminder_minutes
        )
        if now >= reminder_due:
            alert.reminders_sent += 1
            alert.last_notified_at = now
            event = AlertNotification.Event.REMINDER
        alert.save(
            update_fields=[
                "last_seen_at",
                "title",
                "message",
                "severity",
                "reminders_sent",
                "last_notified_at",
            ]
        )
        if event:
            _notify(alert, event, settings)
        return alert, event


def alert_resolve(
    *, alert: Alert, now: dt.datetime | None = None, settings: MonitoringSettings | None = None
) -> bool:
    """Close the incident and say so; False if it was already resolved."""
    now = now or timezone.now()
    with transaction.atomic():
        updated = Alert.objects.filter(pk=alert.pk, resolved_at__isnull=True).update(
            resolved_at=now
        )
        if not updated:
            return False
        alert.resolved_at = now
        _notify(alert, AlertNotification.Event.RESOLVED, settings or settings_for(alert.business))
    return True


def alerts_reconcile(
    *,
    business: Business,
    findings: Iterable[Finding],
    kinds: Iterable[str],
    now: dt.datetime | None = None,
) -> Reconciled:
    """Apply one check's findings: open or remind what is found, resolve what is gone.

    Only alerts of `kinds` (the kinds this check can find) are resolved.
    """
    now = now or timezone.now()
    settings = settings_for(business)
    result = Reconciled()
    found = {}
    for finding in findings:
        found[finding.key] = finding
    for finding in found.values():
        alert, event = alert_raise(business=business, finding=finding, now=now, settings=settings)
        if event == AlertNotification.Event.OPENED:
            result.opened.append(alert)
        elif event == AlertNotification.Event.REMINDER:
            result.reminded.append(alert)
    stale = Alert.objects.filter(
        business=business, resolved_at__isnull=True, kind__in=list(kinds)
    ).exclude(key__in=list(found))
    for alert in stale:
        if alert_resolve(alert=alert, now=now, settings=settings):
            result.resolved.append(alert)
    return result


def alert_notification_send(*, notification_id: int) -> AlertNotification:
    """Deliver one notification. Idempotent: a sent one is not sent again.

    Raises TemporaryError when the channel should be tried again later.
    """
    notification = AlertNotification.objects.select_related(
        "alert__business", "alert__connection"
    ).get(pk=notification_id)
    if notification.status == AlertNotification.Status.SENT:
        return notification
    alert, event = notification.alert, notification.event
    settings = settings_for(alert.business)
    notification.attempts += 1
    try:
        if notification.channel == AlertNotification.Channel.SLACK:
            if settings.slack_connection is None:
                raise ProviderError("No Slack connection is set for alerts any more.")
            SlackWebhookClient(settings.slack_connection).post_message(
                messages.slack_payload(alert, event)
            )
        else:
            EmailMessage(
                subject=messages.email_subject(alert, event),
                body=messages.email_body(alert, event),
                from_email=from_email(),
                to=[a.strip() for a in notification.recipients.split(",") if a.strip()],
            ).send()
    except (ProviderError, OSError) as exc:
        notification.status = AlertNotification.Status.FAILED
        notification.error = str(exc)[:1000]
        notification.save(update_fields=["status", "error", "attempts"])
        logger.warning(
            "alert_notification_failed",
            notification_id=notification.pk,
            channel=notification.channel,
            error_class=type(exc).__name__,
        )
        if isinstance(exc, TemporaryError | OSError):
            raise TemporaryError(str(exc)) from exc
        return notification
    notification.status, notification.sent_at = AlertNotification.Status.SENT, timezone.now()
    notification.error = ""
    notification.save(update_fields=["status", "sent_at", "error", "attempts"])
    return notification
