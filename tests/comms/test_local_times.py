"""What customers read is in their own clock: the service location's zone (which may differ from
the business's), in texts and in the confirmation PDF, also when a worker (UTC) renders it."""

import datetime as dt

from django.utils import timezone

from apps.comms.rendering import context_for
from apps.comms.services.email import work_order_html
from tests import factories as f


def _job_in_new_york(business):
    customer = f.CustomerFactory(business=business)
    location = f.ServiceLocationFactory(customer=customer, timezone="America/New_York")
    start = dt.datetime(2026, 12, 8, 15, 0, tzinfo=dt.UTC)  # 10 AM in New York, 8 AM in Denver
    return f.WorkOrderFactory(
        location=location,
        arrival_window_start=start,
        arrival_window_end=start + dt.timedelta(hours=2),
    )


def test_text_window_uses_the_location_zone(business):
    values = context_for(work_order=_job_in_new_york(business), with_invoice=False)
    assert values["date"] == "Tue Dec 8"
    assert values["window"] == "10:00 AM-12:00 PM"


def test_confirmation_pdf_window_uses_the_location_zone_with_its_abbreviation(business):
    assert timezone.get_current_timezone_name() == "UTC"  # as in a worker
    html = work_order_html(_job_in_new_york(business))
    assert "Arrival window: Tue Dec 8, 10:00 AM \u2013 12:00 PM EST" in html
