"""The weekly report email: Monday morning local time, once per week, PDF attached."""

import datetime as dt

import pytest
from django.core import mail

from apps.monitoring.models import MonitoringSettings, WeeklyReportDelivery
from apps.monitoring.services.weekly import weekly_reports_due
from tests.monitoring.conftest import log

# Monday Nov 16 2026, 07:00 in Denver (UTC-7) is 14:00 UTC.
MONDAY_7AM = dt.datetime(2026, 11, 16, 14, 0, tzinfo=dt.UTC)


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    def run(now):
        with django_capture_on_commit_callbacks(execute=True):
            return weekly_reports_due(now=now)

    return run


def test_sent_once_on_monday_morning_with_the_pdf(books, manager, send):
    # Reported: the full local week before Monday 00:00 (07:00 UTC); not Monday's early hours.
    log(books, 20, at=MONDAY_7AM - dt.timedelta(hours=8), spread=dt.timedelta(days=5))
    log(books, 3, at=MONDAY_7AM - dt.timedelta(hours=6))

    assert send(MONDAY_7AM - dt.timedelta(minutes=1)) == []  # 6:59 local
    assert send(MONDAY_7AM - dt.timedelta(days=1)) == []  # Sunday
    (delivery,) = send(MONDAY_7AM)
    assert send(MONDAY_7AM + dt.timedelta(hours=1)) == []  # once per week

    delivery.refresh_from_db()
    assert (delivery.status, delivery.week_start) == ("sent", dt.date(2026, 11, 16))
    (message,) = mail.outbox
    assert message.to == ["manager@acme.example"]
    assert message.subject == "[Acme HVAC] Integration health, week of Nov 16"
    assert "20 operations, 100.00 % success, 0 errors" in message.body
    ((name, content, mimetype),) = message.attachments
    assert mimetype == "application/pdf" and content.startswith(b"%PDF")
    assert name.startswith("integration-health-acme-hvac-7d-")


def test_turned_off_or_nobody_to_send_to(business, send):
    assert send(MONDAY_7AM) == []  # no manager with an email address
    MonitoringSettings.objects.create(
        business=business, weekly_report=False, alert_emails="owner@acme.example"
    )
    assert send(MONDAY_7AM) == []
    assert not WeeklyReportDelivery.objects.exists()
