"""Sync schedules read and typed in the business's local time, following it across DST and when
the business moves to another zone."""

import datetime as dt
import json
import re

import pytest
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

from apps.core.errors import DomainError
from apps.integrations.schedules import schedule_describe
from apps.integrations.services import connection_schedule_set

from .conftest import OTHER_MARK


def schedules_url(connection) -> str:
    return reverse("admin:integrations_integrationconnection_schedules", args=[connection.pk])


def change_url(connection) -> str:
    return reverse("admin:integrations_integrationconnection_change", args=[connection.pk])


def rows(connection) -> dict[str, PeriodicTask]:
    tasks = PeriodicTask.objects.filter(name__startswith=f"integration:{connection.pk}:")
    return {t.name.rsplit(":", 1)[1]: t for t in tasks.select_related("crontab", "interval")}


def schedule_form(**lines) -> dict:
    data = {}
    for resource in ("customers", "items", "invoices", "payments"):
        data[resource] = lines.get(resource, "")
        data[f"{resource}__enabled"] = "on"
    return data


@pytest.mark.parametrize(
    ("crontab", "expected"),
    [
        ("0 3 * * *", "Daily at 3:00 AM, America/Denver time"),
        ("30 14 * * 1-5", "Weekdays at 2:30 PM, America/Denver time"),
        ("0 6 * * 1", "Mondays at 6:00 AM, America/Denver time"),
        ("15 * * * *", "Hourly at :15"),
        ("0 3 1 * *", "Crontab \u201c0 3 1 * *\u201d in America/Denver time"),
    ],
)
def test_schedules_are_described_in_local_words(own, crontab, expected):
    task = connection_schedule_set(connection=own.connection, resource="customers", crontab=crontab)
    assert schedule_describe(task) == expected


def test_an_interval_is_described_plainly(own):
    task = connection_schedule_set(connection=own.connection, resource="items", every_minutes=15)
    assert schedule_describe(task) == "Every 15 minutes"


def test_a_daily_3am_sync_runs_at_3am_local_on_both_dst_nights(own):
    task = connection_schedule_set(
        connection=own.connection, resource="customers", crontab="0 3 * * *"
    )
    beat = task.crontab.schedule  # what django-celery-beat's scheduler evaluates

    def next_run(last_run_at):
        start, delta, _now = beat.remaining_delta(last_run_at)
        return (start + delta).astimezone(dt.UTC)

    # Mar 7, 3:00 AM MST -> Mar 8, 3:00 AM MDT (09:00 UTC, not 10:00).
    assert next_run(dt.datetime(2026, 3, 7, 10, 0, tzinfo=dt.UTC)) == dt.datetime(
        2026, 3, 8, 9, 0, tzinfo=dt.UTC
    )
    # Oct 31, 3:00 AM MDT -> Nov 1, 3:00 AM MST (10:00 UTC, not 09:00).
    assert next_run(dt.datetime(2026, 10, 31, 9, 0, tzinfo=dt.UTC)) == dt.datetime(
        2026, 11, 1, 10, 0, tzinfo=dt.UTC
    )


def test_a_crontab_beat_could_not_read_is_refused(own):
    with pytest.raises(DomainError, match="is not a valid crontab"):
        connection_schedule_set(
            connection=own.connection, resource="customers", crontab="99 3 * * *"
        )
    assert not rows(own.connection)


def test_the_connection_page_shows_schedules_in_local_time(client, manager, own):
    task = connection_schedule_set(
        connection=own.connection, resource="customers", crontab="0 3 * * *"
    )
    PeriodicTask.objects.filter(pk=task.pk).update(
        last_run_at=dt.datetime(2026, 12, 8, 10, 0, tzinfo=dt.UTC)
    )
    client.force_login(manager)
    body = client.get(change_url(own.connection)).content.decode()
    assert "Daily at 3:00 AM, America/Denver time" in body
    assert "Dec. 8, 2026, 3:00 AM MST" in body  # last run
    assert f'href="{schedules_url(own.connection)}"' in body


def test_a_manager_edits_schedules_in_local_time(client, manager, own):
    client.force_login(manager)
    page = client.get(schedules_url(own.connection)).content.decode()
    assert "America/Denver" in page and 'name="customers"' in page
    response = client.post(
        schedules_url(own.connection), schedule_form(customers="0 3 * * *", invoices="15")
    )
    assert response.status_code == 302
    saved = rows(own.connection)
    assert set(saved) == {"customers", "invoices"}
    cron = saved["customers"].crontab
    assert (cron.minute, cron.hour, str(cron.timezone)) == ("0", "3", "America/Denver")
    assert saved["invoices"].interval.every == 15
    assert json.loads(saved["customers"].kwargs)["connection_id"] == own.connection.pk

    # Blank stops the schedule; the page shows what is stored.
    assert 'value="0 3 * * *"' in client.get(schedules_url(own.connection)).content.decode()
    client.post(schedules_url(own.connection), schedule_form(customers="0 3 * * *"))
    assert set(rows(own.connection)) == {"customers"}


def test_a_bad_line_is_a_form_error_and_changes_nothing(client, manager, own):
    client.force_login(manager)
    response = client.post(
        schedules_url(own.connection), schedule_form(customers="0 3 * * *", invoices="0 25 * * *")
    )
    assert response.status_code == 200
    errors = " ".join(
        re.findall(r'class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode())
    )
    assert "is not a valid crontab" in errors
    assert rows(own.connection) == {}


def test_only_people_who_may_change_the_connection_edit_its_schedules(
    client, office_dispatcher, manager, own, other
):
    client.force_login(office_dispatcher)
    assert client.get(schedules_url(own.connection)).status_code == 403
    client.force_login(manager)
    response = client.get(schedules_url(other.connection))
    assert response.status_code == 404 and OTHER_MARK not in response.content.decode()
    assert (
        client.post(schedules_url(other.connection), schedule_form(customers="5")).status_code
        == 404
    )
    assert rows(other.connection) == {}


def test_schedules_follow_the_business_to_another_zone(
    client, superuser, own, django_capture_on_commit_callbacks
):
    connection_schedule_set(connection=own.connection, resource="customers", crontab="0 3 * * *")
    connection_schedule_set(connection=own.connection, resource="items", every_minutes=30)
    business = own.business
    client.force_login(superuser)
    data = {
        "name": business.name,
        "slug": business.slug,
        "timezone": "Asia/Kolkata",
        "currency": business.currency,
        "main_phone": str(business.main_phone),
        "emergency_phone": str(business.emergency_phone),
        "line_quantity_max": business.line_quantity_max,
        "line_amount_max": business.line_amount_max,
    }
    url = reverse("admin:core_business_change", args=[business.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, data).status_code == 302
    business.refresh_from_db()
    assert str(business.timezone) == "Asia/Kolkata"
    saved = rows(own.connection)
    assert str(saved["customers"].crontab.timezone) == "Asia/Kolkata"
    assert (saved["customers"].crontab.minute, saved["customers"].crontab.hour) == ("0", "3")
    assert saved["items"].interval == IntervalSchedule.objects.get(every=30, period="minutes")
    # The Denver crontab row is shared, so it was left for whoever else uses it.
    assert CrontabSchedule.objects.filter(hour="3", timezone="America/Denver").exists()
