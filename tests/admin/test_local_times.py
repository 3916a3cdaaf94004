"""The back office in the business's local time: what pages show, what forms read, how date
filters cut days, and what happens on the nights the clocks change (America/Denver: spring
forward on Mar 8 2026 at 2:00 AM, fall back on Nov 1 2026 at 2:00 AM)."""

import datetime as dt
import html
import re
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from apps.core import events
from apps.core.models import WorkOrder, WorkOrderStatusChange
from tests import factories as f
from tests.core.test_admin_billing import _work_order_form

DENVER = zoneinfo.ZoneInfo("America/Denver")
CHANGELIST = reverse("admin:core_workorder_changelist")


def change_url(work_order) -> str:
    return reverse("admin:core_workorder_change", args=[work_order.pk])


def order(business, start: dt.datetime, hours: int = 2, **extra) -> WorkOrder:
    return f.WorkOrderFactory(
        location__customer__business=business,
        arrival_window_start=start,
        arrival_window_end=start + dt.timedelta(hours=hours),
        **extra,
    )


def time_inputs(body: str, name: str) -> tuple[str, str]:
    date = re.search(rf'name="{name}_0" value="([^"]*)"', body).group(1)
    time = re.search(rf'name="{name}_1" value="([^"]*)"', body).group(1)
    return date, time


def form_errors(body: str) -> str:
    return " ".join(re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', body, re.S))


@pytest.fixture
def signed_in(client, office_dispatcher):
    client.force_login(office_dispatcher)
    return client


@pytest.fixture
def marcus_job(business):
    """The issue's job: 8-10 AM in Denver (the API's 2026-12-08T08:00-07:00)."""
    start = dt.datetime.fromisoformat("2026-12-08T08:00-07:00")
    work_order = order(business, start)
    change = WorkOrderStatusChange.objects.create(
        business=business, work_order=work_order, from_status="new", to_status="scheduled"
    )
    WorkOrderStatusChange.objects.filter(pk=change.pk).update(
        changed_at=dt.datetime(2026, 12, 7, 19, 20, tzinfo=dt.UTC)
    )
    return work_order


def test_work_order_page_shows_and_labels_the_local_window(signed_in, marcus_job):
    body = signed_in.get(change_url(marcus_job)).content.decode()
    assert time_inputs(body, "arrival_window_start") == ("2026-12-08", "08:00:00")
    assert time_inputs(body, "arrival_window_end") == ("2026-12-08", "10:00:00")
    assert 'class="local-zone"' in body and "MST (America/Denver)" in body
    # The status history: 19:20 UTC is 12:20 PM in Denver, with the zone said.
    assert "Dec. 7, 2026, 12:20 PM MST" in body
    assert "7:20 p.m." not in body


def test_lists_show_local_times_with_the_zone(signed_in, marcus_job):
    body = signed_in.get(CHANGELIST).content.decode()
    assert '<span class="wo-day">Tue Dec 8</span> 8:00 AM \u2013 10:00 AM MST' in body
    history = signed_in.get(reverse("admin:core_workorderstatuschange_changelist"))
    assert "Dec. 7, 2026, 12:20 PM MST" in history.content.decode()


def test_a_business_far_east_of_utc_sees_its_own_clock(client, other_business):
    other_business.timezone = "Asia/Kolkata"
    other_business.save()
    manager = f.UserFactory(
        business=other_business, role="manager", is_superuser=True, is_staff=True
    )
    job = order(other_business, dt.datetime(2026, 12, 8, 2, 30, tzinfo=dt.UTC))  # 8:00 IST
    client.force_login(manager)
    body = client.get(change_url(job)).content.decode()
    assert time_inputs(body, "arrival_window_start") == ("2026-12-08", "08:00:00")
    assert "IST (Asia/Kolkata)" in body
    assert "8:00 AM \u2013 10:00 AM IST" in client.get(CHANGELIST).content.decode()


def test_typed_times_are_read_in_the_business_zone(client, business):
    business.timezone = "Pacific/Honolulu"
    business.save()
    user = f.UserFactory(business=business, role="manager", is_superuser=True, is_staff=True)
    job = order(business, dt.datetime(2026, 12, 8, 18, 0, tzinfo=dt.UTC))  # 8:00 AM HST
    client.force_login(user)
    form = _work_order_form(job, arrival_window_end_1="11:30 AM")
    assert client.post(change_url(job), form).status_code == 302
    job.refresh_from_db()
    assert job.arrival_window_end == dt.datetime(2026, 12, 8, 21, 30, tzinfo=dt.UTC)


def test_the_zone_does_not_leak_past_the_request(signed_in, marcus_job):
    signed_in.get(change_url(marcus_job))
    assert timezone.get_current_timezone_name() == "UTC"


def test_a_platform_superuser_reads_each_rows_zone_in_lists_and_on_its_page(
    client, superuser, marcus_job
):
    # The list mixes businesses, so each window is in its own business's zone, labelled.
    client.force_login(superuser)
    assert "8:00 AM \u2013 10:00 AM MST" in client.get(CHANGELIST).content.decode()
    body = client.get(change_url(marcus_job)).content.decode()
    assert time_inputs(body, "arrival_window_start") == ("2026-12-08", "08:00:00")
    assert "MST (America/Denver)" in body


# --- the nights the clocks change -----------------------------------------------------------
def test_the_repeated_hour_on_fall_back_night_is_told_apart(signed_in, business):
    first = order(business, dt.datetime(2026, 11, 1, 7, 30, tzinfo=dt.UTC), hours=1)  # MDT
    second = order(business, dt.datetime(2026, 11, 1, 8, 30, tzinfo=dt.UTC), hours=1)  # MST
    body = signed_in.get(CHANGELIST).content.decode()
    assert "1:30 AM MDT \u2013 1:30 AM MST" in body and "1:30 AM \u2013 2:30 AM MST" in body
    # Both pages show 1:30 AM, each labelled with the abbreviation of its own instant.
    assert "MDT (America/Denver)" in signed_in.get(change_url(first)).content.decode()
    assert "MST (America/Denver)" in signed_in.get(change_url(second)).content.decode()


def test_resaving_a_job_in_the_repeated_hour_keeps_its_instant(
    signed_in, business, django_capture_on_commit_callbacks
):
    seen = []
    events.subscribe(events.WorkOrderWindowChanged)(seen.append)
    try:
        job = order(business, dt.datetime(2026, 11, 1, 8, 30, tzinfo=dt.UTC), hours=1)  # 1:30 MST
        with django_capture_on_commit_callbacks(execute=True):
            response = signed_in.post(change_url(job), _work_order_form(job, summary="Note"))
    finally:
        events.unsubscribe(events.WorkOrderWindowChanged, seen.append)
    assert response.status_code == 302, form_errors(response.content.decode())
    job.refresh_from_db()
    assert job.summary == "Note"
    assert job.arrival_window_start == dt.datetime(2026, 11, 1, 8, 30, tzinfo=dt.UTC)
    assert seen == []


def test_typing_a_time_in_the_repeated_hour_is_a_clear_form_error(signed_in, business):
    job = order(business, dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.UTC))
    form = _work_order_form(
        job,
        arrival_window_start_0="2026-11-01",
        arrival_window_start_1="01:30:00",
        arrival_window_end_0="2026-11-01",
        arrival_window_end_1="03:00:00",
    )
    response = signed_in.post(change_url(job), form)
    assert response.status_code == 200
    errors = form_errors(response.content.decode())
    assert "1:30 AM on Sun Nov 1, 2026 happens twice in America/Denver (MDT, then MST)" in errors
    assert "clocks go back from 2:00 AM to 1:00 AM" in errors
    job.refresh_from_db()
    assert job.arrival_window_start == dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.UTC)


def test_a_time_in_the_spring_forward_gap_is_a_clear_form_error(signed_in, business):
    job = order(business, dt.datetime(2026, 3, 7, 16, 0, tzinfo=dt.UTC))
    form = _work_order_form(
        job,
        arrival_window_start_0="2026-03-08",
        arrival_window_start_1="02:30:00",
        arrival_window_end_0="2026-03-08",
        arrival_window_end_1="04:00:00",
    )
    response = signed_in.post(change_url(job), form)
    assert response.status_code == 200
    errors = form_errors(response.content.decode())
    assert "2:30 AM on Sun Mar 8, 2026 does not exist in America/Denver" in errors
    assert "Enter a time before 2:00 AM or from 3:00 AM." in errors


def test_a_window_across_the_spring_forward_gap_is_two_real_hours(signed_in, business):
    job = order(business, dt.datetime(2026, 3, 7, 16, 0, tzinfo=dt.UTC))
    form = _work_order_form(
        job,
        arrival_window_start_0="2026-03-08",
        arrival_window_start_1="01:00:00",
        arrival_window_end_0="2026-03-08",
        arrival_window_end_1="04:00:00",
    )
    assert signed_in.post(change_url(job), form).status_code == 302
    job.refresh_from_db()
    assert job.arrival_window_start == dt.datetime(2026, 3, 8, 8, 0, tzinfo=dt.UTC)  # 1 AM MST
    assert job.arrival_window_end - job.arrival_window_start == dt.timedelta(hours=2)
    body = signed_in.get(CHANGELIST).content.decode()
    assert "1:00 AM MST \u2013 4:00 AM MDT" in body


# --- date filters cut days at local midnight --------------------------------------------------
def test_date_hierarchy_groups_by_the_local_day(signed_in, business):
    evening = order(business, dt.datetime(2026, 12, 9, 3, 0, tzinfo=dt.UTC))  # Dec 8, 8 PM MST
    day8 = signed_in.get(
        CHANGELIST,
        {
            "arrival_window_start__year": 2026,
            "arrival_window_start__month": 12,
            "arrival_window_start__day": 8,
        },
    )
    day9 = signed_in.get(
        CHANGELIST,
        {
            "arrival_window_start__year": 2026,
            "arrival_window_start__month": 12,
            "arrival_window_start__day": 9,
        },
    )
    assert [o.pk for o in day8.context["cl"].result_list] == [evening.pk]
    assert list(day9.context["cl"].result_list) == []


def test_today_filter_is_the_business_day(signed_in, business):
    today = timezone.localdate(timezone=DENVER)
    midnight = dt.datetime.combine(today, dt.time(0), tzinfo=DENVER)
    early = order(business, midnight + dt.timedelta(minutes=5), hours=1)
    late = order(business, midnight + dt.timedelta(hours=23, minutes=30), hours=1)
    order(business, midnight - dt.timedelta(minutes=30), hours=1)  # yesterday, 11:30 PM
    order(business, midnight + dt.timedelta(days=1, minutes=5), hours=1)  # tomorrow
    page = signed_in.get(CHANGELIST).content.decode()
    link = re.search(r'<a href="(\?arrival_window_start__gte=[^"]+)"[^>]*>Today</a>', page)
    response = signed_in.get(CHANGELIST + html.unescape(link.group(1)))
    assert {o.pk for o in response.context["cl"].result_list} == {early.pk, late.pk}
