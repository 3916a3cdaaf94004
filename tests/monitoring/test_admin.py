"""Alert history and settings in the admin, scoped to the user's business."""

import pytest
from django.utils import timezone

from apps.monitoring.models import Alert, AlertNotification, MonitoringSettings
from tests import factories as f


def alert(business, title):
    now = timezone.now()
    made = Alert.objects.create(
        business=business,
        kind="degraded",
        severity="warning",
        key=f"degraded:{title}",
        title=title,
        opened_at=now,
        last_seen_at=now,
    )
    AlertNotification.objects.create(
        business=business, alert=made, channel="email", event="opened", status="sent"
    )
    return made


@pytest.fixture
def owner(business):
    """A business-bound superuser: every permission, still only their business's rows."""
    return f.UserFactory(business=business, role="admin", is_staff=True, is_superuser=True)


def test_alert_history_is_scoped(client, owner, business, other_business):
    mine = alert(business, "ACMEMARK degraded")
    theirs = alert(other_business, "RIVALMARK degraded")
    client.force_login(owner)

    listing = client.get("/admin/monitoring/alert/").content.decode()
    assert "ACMEMARK degraded" in listing and "RIVALMARK" not in listing

    page = client.get(f"/admin/monitoring/alert/{mine.pk}/change/")
    assert page.status_code == 200
    assert "Opened" in page.content.decode()  # the notification history inline
    other = client.get(f"/admin/monitoring/alert/{theirs.pk}/change/")
    assert other.status_code == 302  # "doesn't exist", as for a missing id


def test_settings_refuse_a_slack_connection_of_another_business(
    client, owner, business, other_business
):
    rival_slack = f.IntegrationConnectionFactory(
        business=other_business, provider="slack", name="#rival"
    )
    client.force_login(owner)
    response = client.post(
        "/admin/monitoring/monitoringsettings/add/",
        {
            "stale_after_minutes": 60,
            "degraded_error_threshold": 10,
            "healthy_success_rate": "95.00",
            "sync_silence_hours": 24,
            "alert_reminder_minutes": 240,
            "slack_connection": rival_slack.pk,
            "email_alerts": "on",
            "alert_emails": "ops@acme.example, not-an-address",
            "weekly_report": "on",
            "weekly_report_hour": 7,
        },
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert "Not valid email addresses: not-an-address." in html
    assert not MonitoringSettings.objects.exists()


def test_office_roles_see_alerts_and_managers_edit_settings(client, business):
    from apps.core.admin.permissions import grant_office_permissions

    dispatcher = f.UserFactory(business=business, role="dispatcher")
    manager = f.UserFactory(business=business, role="manager")
    grant_office_permissions(dispatcher)
    grant_office_permissions(manager)
    alert(business, "ACMEMARK degraded")

    client.force_login(dispatcher)
    assert client.get("/admin/monitoring/alert/").status_code == 200
    assert client.get("/admin/monitoring/monitoringsettings/add/").status_code == 403
    client.force_login(manager)
    assert client.get("/admin/monitoring/monitoringsettings/add/").status_code == 200
