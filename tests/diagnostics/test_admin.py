"""Manual readings through the admin; findings and reports read-only; tenant-scoped."""

import datetime as dt

from django.utils import timezone

from apps.core.admin.permissions import grant_office_permissions
from apps.diagnostics.models import Reading
from tests import factories as f
from tests.diagnostics.conftest import reading

ADD = "/admin/diagnostics/reading/add/"


def form(work_order, **change):
    now = timezone.localtime(timezone.now() - dt.timedelta(minutes=3), work_order.business.timezone)
    data = {
        "work_order": work_order.pk,
        "phase": "in",
        "quantity": "voltage",
        "value": "240.5",
        "unit": "V",
        "instrument_serial": "",
        "taken_at_0": now.strftime("%Y-%m-%d"),
        "taken_at_1": now.strftime("%H:%M:%S"),
    }
    data.update(change)
    return data


def test_dispatcher_types_in_a_reading(client, dispatcher, work_order):
    grant_office_permissions(dispatcher)
    client.force_login(dispatcher)

    response = client.post(ADD, form(work_order))

    assert response.status_code == 302, response.content.decode()[:2000]
    stored = Reading.objects.get()
    assert stored.capture_method == "manual" and stored.entered_by == dispatcher
    assert stored.business == work_order.business and stored.client_id is not None


def test_admin_refuses_a_wrong_unit_and_stores_nothing(client, dispatcher, work_order):
    grant_office_permissions(dispatcher)
    client.force_login(dispatcher)
    response = client.post(ADD, form(work_order, unit="psig"))
    assert response.status_code == 200 and "not a unit for voltage" in response.content.decode()
    assert Reading.objects.count() == 0


def test_admin_lists_only_my_business(client, dispatcher, work_order, other_business, tech_client):
    tech_client.post(
        "/api/v1/diagnostics/readings/",
        {"readings": [reading(work_order, "co", 9, "ppm")]},
        format="json",
    )
    rival = f.UserFactory(business=other_business, role="dispatcher", is_staff=True)
    grant_office_permissions(rival)
    client.force_login(rival)
    page = client.get("/admin/diagnostics/reading/")
    assert page.status_code == 200 and "0 readings" in page.content.decode()
    client.force_login(dispatcher)
    grant_office_permissions(dispatcher)
    mine = client.get("/admin/diagnostics/reading/")
    assert "1 reading" in mine.content.decode()
    assert client.get("/admin/diagnostics/finding/").status_code == 200
