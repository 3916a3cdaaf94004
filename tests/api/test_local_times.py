"""The technicians' API keeps ISO 8601 with the business's offset, whatever the back office's
middleware does for the same user signed in by session."""

import datetime as dt

from rest_framework.test import APIClient

from tests import factories as f
from tests.api.helpers import client_for, dispatched_to


def test_api_times_carry_the_business_offset_far_from_utc(business, dispatcher):
    business.timezone = "Asia/Kolkata"
    business.save()
    technician = f.TechnicianFactory(business=business)
    start = dt.datetime(2026, 12, 8, 2, 30, tzinfo=dt.UTC)  # 8:00 AM IST
    job = dispatched_to(
        technician,
        dispatcher,
        arrival_window_start=start,
        arrival_window_end=start + dt.timedelta(hours=2),
    )
    body = client_for(technician.user).get(f"/api/v1/work-orders/{job.pk}/").json()
    assert body["arrival_window_start"] == "2026-12-08T08:00:00+05:30"
    assert body["arrival_window_end"] == "2026-12-08T10:00:00+05:30"


def test_session_signed_api_calls_answer_the_same(business, dispatcher, technician):
    start = dt.datetime.fromisoformat("2026-12-08T08:00-07:00")  # Marcus's 8-10 AM job
    job = dispatched_to(
        technician,
        dispatcher,
        arrival_window_start=start,
        arrival_window_end=start + dt.timedelta(hours=2),
    )
    client = APIClient()
    client.force_login(technician.user)
    body = client.get(f"/api/v1/work-orders/{job.pk}/", HTTP_ACCEPT="application/json").json()
    assert body["arrival_window_start"] == "2026-12-08T08:00:00-07:00"
    assert body["arrival_window_end"] == "2026-12-08T10:00:00-07:00"
