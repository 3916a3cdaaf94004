"""Alerts: raised once per incident, reminded after the interval, resolved on recovery, and
delivered to Slack over real HTTP (loopback) and by email."""

import datetime as dt
import json

import pytest
from django.core import mail

from apps.integrations.models import ConnectionStatus, IntegrationActivity
from apps.integrations.providers import Provider, override_provider
from apps.integrations.services import connection_schedule_set
from apps.monitoring.models import Alert, AlertNotification, MonitoringSettings
from apps.monitoring.services.alerts import alert_notification_send
from apps.monitoring.services.health_check import health_check_run
from tests import factories as f
from tests.loopback import Canned, LoopbackServer
from tests.monitoring.conftest import log

HOUR = dt.timedelta(hours=1)
WEBHOOK = "https://hooks.slack.com/services/T0001/B0002/abcdefSECRETtoken123"


@pytest.fixture
def slack_server():
    with LoopbackServer() as server:
        server.default = Canned(status=200, body=b"ok")
        yield server


@pytest.fixture
def alerting(business, manager, slack_server):
    slack = f.IntegrationConnectionFactory(
        business=business,
        provider="slack",
        name="#ops",
        credentials={"webhook_url": WEBHOOK},
        api_base_url=slack_server.url,
        status=ConnectionStatus.CONNECTED,
    )
    return MonitoringSettings.objects.create(
        business=business, slack_connection=slack, alert_reminder_minutes=240
    )


@pytest.fixture
def check(django_capture_on_commit_callbacks):
    """Run the health check and deliver its notifications (tasks run eagerly after commit)."""

    def run(business, now):
        with django_capture_on_commit_callbacks(execute=True):
            return health_check_run(business=business, now=now)

    return run


def slack_posts(server):
    return [json.loads(r.body) for r in server.requests if r.method == "POST"]


def degrade(connection, now, errors=11):
    # A connection that used to work (one that never did is "failing", not degraded).
    log(connection, 1, at=now - dt.timedelta(hours=30))
    log(
        connection,
        errors,
        at=now - dt.timedelta(minutes=5),
        outcome="temporary_error",
        message="503 Service Unavailable",
    )


def test_degraded_raises_one_alert_not_one_per_failure(alerting, books, now, check, slack_server):
    degrade(books, now)
    first = check(books.business, now)
    degrade(books, now + 10 * dt.timedelta(minutes=1), errors=30)
    second = check(books.business, now + HOUR)

    (alert,) = Alert.objects.all()
    assert [a.pk for a in first.opened] == [alert.pk]
    assert second.opened == [] and second.reminded == []
    assert alert.kind == Alert.Kind.DEGRADED and alert.is_open
    assert alert.title == "QuickBooks Online (Books) is degraded: 41 errors in 24 hours"
    assert len(slack_posts(slack_server)) == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["manager@acme.example"]
    assert "degraded" in mail.outbox[0].subject


def test_reminder_after_the_interval_then_resolved(alerting, books, now, check, slack_server):
    degrade(books, now)
    check(books.business, now)
    early = check(books.business, now + dt.timedelta(minutes=239))
    due = check(books.business, now + dt.timedelta(minutes=240))
    assert early.reminded == []
    assert len(due.reminded) == 1
    # Past the 24-hour window the errors age out and fresh successes come in: recovered.
    later = now + dt.timedelta(hours=25)
    log(books, 50, at=later - dt.timedelta(minutes=1))
    resolved = check(books.business, later)

    alert = Alert.objects.get()
    assert [a.pk for a in resolved.resolved] == [alert.pk]
    assert alert.resolved_at == later and alert.reminders_sent == 1
    events = list(
        alert.notifications.filter(channel="slack").order_by("pk").values_list("event", "status")
    )
    assert events == [("opened", "sent"), ("reminder", "sent"), ("resolved", "sent")]
    texts = [p["text"] for p in slack_posts(slack_server)]
    assert texts[1].startswith(":hourglass: Still open:")
    assert texts[2].startswith(":white_check_mark: Resolved:")


def test_a_new_incident_after_recovery_is_a_new_alert(alerting, books, now, check):
    degrade(books, now)
    check(books.business, now)
    later = now + dt.timedelta(hours=25)
    log(books, 5, at=later - dt.timedelta(minutes=1))
    check(books.business, later)
    degrade(books, later + HOUR)
    check(books.business, later + HOUR)

    assert Alert.objects.count() == 2
    assert Alert.objects.filter(resolved_at__isnull=True).count() == 1


def test_slack_payload_over_http(alerting, books, now, check, slack_server):
    degrade(books, now)
    check(books.business, now)

    (request,) = slack_server.requests
    assert request.method == "POST"
    assert request.path == "/services/T0001/B0002/abcdefSECRETtoken123"
    assert request.headers["Content-Type"] == "application/json"
    payload = json.loads(request.body)
    assert payload["text"] == (
        ":rotating_light: QuickBooks Online (Books) is degraded: 11 errors in 24 hours"
    )
    header, section, context = payload["blocks"]
    assert header["text"]["text"] == "QuickBooks Online (Books) is degraded: 11 errors in 24 hours"
    assert "Latest error: 503 Service Unavailable" in section["text"]["text"]
    assert "Business: Acme HVAC" in section["text"]["text"]
    assert "/monitoring/|Integration health>" in context["elements"][0]["text"]
    # The call is counted like any vendor call, against the Slack connection.
    call = IntegrationActivity.objects.get(connection=alerting.slack_connection)
    assert (call.operation, call.outcome, call.status_code) == (
        "POST incoming webhook",
        "success",
        200,
    )


def test_slack_failure_is_kept_on_the_row_and_retried(alerting, books, now, slack_server):
    slack_server.queue(
        "/services/T0001/B0002/abcdefSECRETtoken123",
        Canned(status=500, body=b"internal_error"),
        Canned(status=200, body=b"ok"),
    )
    degrade(books, now)
    health_check_run(business=books.business, now=now)  # no on-commit delivery here
    notification = AlertNotification.objects.get(channel="slack")

    from apps.integrations.errors import TemporaryError

    with pytest.raises(TemporaryError):
        alert_notification_send(notification_id=notification.pk)
    notification.refresh_from_db()
    assert notification.status == "failed" and "500" in notification.error
    assert "SECRET" not in notification.error

    alert_notification_send(notification_id=notification.pk)
    alert_notification_send(notification_id=notification.pk)  # sent rows are not sent again
    notification.refresh_from_db()
    assert (notification.status, notification.attempts) == ("sent", 2)
    assert len(slack_server.requests) == 2


class Scheduled(Provider):
    resources = {"customers": "pull"}


def test_no_successful_sync_in_24_hours(alerting, books, now, check):
    with override_provider("quickbooks", Scheduled):
        connection_schedule_set(connection=books, resource="customers", every_minutes=60)
    books.last_sync_at = now - dt.timedelta(hours=24)
    books.save(update_fields=["last_sync_at"])
    log(books, 1, at=now - dt.timedelta(minutes=10), kind="sync", outcome="rejected", message="x")

    assert check(books.business, now).opened == []
    opened = check(books.business, now + dt.timedelta(minutes=1)).opened
    assert [a.kind for a in opened] == [Alert.Kind.SYNC_SILENT]
    assert opened[0].title.startswith("QuickBooks Online (Books) has not synced successfully")


def test_needs_reconnect_and_stale(alerting, business, now, check):
    broken = f.IntegrationConnectionFactory(
        business=business, name="Broken", status=ConnectionStatus.NEEDS_RECONNECT
    )
    with override_provider("quickbooks", Scheduled):
        quiet = f.IntegrationConnectionFactory(business=business, name="Quiet", status="connected")
        connection_schedule_set(connection=quiet, resource="customers", every_minutes=15)
    log(quiet, 1, at=now - dt.timedelta(minutes=61))
    log(broken, 1, at=now - dt.timedelta(minutes=1), outcome="auth_error", message="401 revoked")

    opened = check(business, now).opened
    kinds = {(a.kind, a.connection_id) for a in opened}
    assert kinds == {(Alert.Kind.NEEDS_RECONNECT, broken.pk), (Alert.Kind.STALE, quiet.pk)}


def test_without_channels_the_alert_is_still_recorded(books, now, check):
    degrade(books, now)
    check(books.business, now)
    alert = Alert.objects.get()
    assert alert.notifications.count() == 0
    assert mail.outbox == []


def test_alerts_of_other_businesses_are_untouched(alerting, books, other_business, now, check):
    rival = f.IntegrationConnectionFactory(business=other_business, name="Rival")
    degrade(rival, now)
    check(other_business, now)
    check(books.business, now)
    assert list(Alert.objects.values_list("business_id", flat=True)) == [other_business.pk]
