"""The README's screenshots, taken from the demo company in headless Chromium.

Runs only when asked, since it seeds the whole demo (about 20 seconds):

    BACKOFFICE_SCREENSHOT_DIR=docs/screenshots python -m pytest tests/backoffice/test_screenshots.py

Technicians' phones are simulated through routing's own service (a GPS fix per technician who
is out), so the board shows live positions as it would on a working day.
"""

import datetime as dt
import os
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.http import QueryDict
from django.utils import timezone

from apps.comms.services.inbound import inbound_message_apply
from apps.core.demo import DEFAULT_SLUG
from apps.core.models import Business, Customer, Technician, WorkOrder
from apps.integrations.models import ConnectionStatus
from apps.routing.services.locations import technician_location_record
from tests import factories as f

from .test_browser import CHROMEDRIVER, CHROMIUM, make_browser, sign_in

OUT = os.environ.get("BACKOFFICE_SCREENSHOT_DIR", "")

pytestmark = [
    pytest.mark.skipif(not OUT, reason="set BACKOFFICE_SCREENSHOT_DIR to take the screenshots"),
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="chromium is not installed"),
    pytest.mark.django_db(transaction=True),
]


def _phones_report_in(business: Business) -> None:
    now = timezone.now()
    today = timezone.localdate(timezone=business.timezone)
    for tech in Technician.objects.filter(business=business, active=True):
        jobs = WorkOrder.objects.filter(
            assigned_technician=tech, arrival_window_start__date=today
        ).select_related("location")
        current = next((j for j in jobs if j.status in ("on_site", "en_route", "dispatched")), None)
        if current is None or current.location.latitude is None:
            continue
        lat, lng = current.location.latitude, current.location.longitude
        if current.status != "on_site":  # still on the way: part-way from home
            lat = (lat + (tech.home_latitude or lat)) / 2
            lng = (lng + (tech.home_longitude or lng)) / 2
        technician_location_record(
            technician=tech,
            latitude=Decimal(lat).quantize(Decimal("0.000001")),
            longitude=Decimal(lng).quantize(Decimal("0.000001")),
            recorded_at=now - dt.timedelta(minutes=2),
        )


def _customers_text_in(business: Business) -> None:
    """Two customers text the office, through comms' own inbound handling."""
    now = timezone.now()
    texts = [
        "Hi, is the technician still coming today? We have to leave by 5.",
        "The furnace is making that noise again, can someone call me?",
    ]
    customers = Customer.objects.filter(business=business).exclude(phone="").order_by("pk")[:2]
    for minutes, (customer, body) in enumerate(zip(customers, texts, strict=False)):
        params = QueryDict(mutable=True)
        params.update(
            {
                "From": str(customer.phone),
                "To": str(business.main_phone),
                "Body": body,
                "MessageSid": f"SMdemo{customer.pk:030d}",
            }
        )
        inbound_message_apply(
            params=params, business=business, received_at=now - dt.timedelta(minutes=9 - minutes)
        )


def _books_need_a_reconnect(business: Business) -> None:
    f.IntegrationConnectionFactory(
        business=business, name="QuickBooks Online", status=ConnectionStatus.NEEDS_RECONNECT
    )


def test_take_the_readme_screenshots(live_server):
    call_command("seed_demo", verbosity=0)
    business = Business.objects.get(slug=DEFAULT_SLUG)
    _phones_report_in(business)
    _customers_text_in(business)
    _books_need_a_reconnect(business)
    os.makedirs(OUT, exist_ok=True)
    today = timezone.localdate(timezone=business.timezone).isoformat()
    # (file, page, width, tallest): each page is shot whole, up to its tallest.
    shots = [
        ("dashboard.png", "/admin/", 1440, 1400),
        ("dispatch-board.png", f"/admin/dispatch/?date={today}", 1600, 3000),
        ("work-orders.png", "/admin/core/workorder/", 1600, 1000),
    ]
    browser = make_browser()
    try:
        sign_in(browser, live_server.url, "dana", password=settings.DEMO_ADMIN_PASSWORD)
        for name, path, width, tallest in shots:
            browser.set_window_size(width, 900)
            browser.get(live_server.url + path)
            if "dispatch" in path:  # show a job in the detail panel, as a dispatcher would
                browser.execute_script(
                    "const j = document.querySelector('.lane .job.priority-emergency');"
                    "if (j) { j.click(); }"
                )
            height = browser.execute_script(
                "return Math.max(...[...document.querySelectorAll('#content *')]"
                ".map(e => e.getBoundingClientRect().bottom)) + window.scrollY + 120"
            )
            browser.set_window_size(width, min(tallest, height + 20))
            browser.execute_script("return document.fonts.ready")
            browser.save_screenshot(os.path.join(OUT, name))
            assert os.path.getsize(os.path.join(OUT, name)) > 10_000
    finally:
        browser.quit()
