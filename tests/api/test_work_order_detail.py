import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core.models import WorkOrderPart
from tests import factories as f
from tests.api.helpers import dispatched_to, missing_id, work_order_of


def url(pk) -> str:
    return f"/api/v1/work-orders/{pk}/"


@pytest.fixture
def full_work_order(technician, dispatcher, business):
    """A dispatched job with everything the detail shows."""
    start = dt.datetime(2025, 6, 5, 15, 0, tzinfo=dt.UTC)
    work_order = dispatched_to(
        technician,
        dispatcher,
        arrival_window_start=start,
        arrival_window_end=start + dt.timedelta(hours=2),
        description="Upstairs unit blowing warm air.",
    )
    location = work_order.location
    location.access_notes = "Gate code 4412. Dog in the yard."
    location.save()
    unit = f.EquipmentFactory(location=location, serial_number="SN-AC-1")
    f.EquipmentFactory(location=location, kind="furnace", refrigerant="", serial_number="SN-F-1")
    work_order.equipment.add(unit)
    skill = f.SkillFactory(business=business, code="epa-608", name="EPA 608")
    work_order.required_skills.add(skill)
    part = f.PartFactory(business=business, sku="CAP-455", unit_price=Decimal("38.50"))
    WorkOrderPart.objects.create(business=business, work_order=work_order, part=part, quantity=2)
    f.LineItemFactory(work_order=work_order)
    f.LineItemFactory(
        work_order=work_order,
        kind="part",
        part=part,
        description="Capacitor",
        quantity=Decimal("2.5"),
        unit_price=Decimal("38.50"),
    )
    return work_order


def test_detail_has_everything_needed_on_site(tech_client, full_work_order, technician):
    response = tech_client.get(url(full_work_order.pk))

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "dispatched"
    assert body["description"] == "Upstairs unit blowing warm air."
    assert body["category"] == "HVAC"
    assert body["arrival_window_start"] == "2025-06-05T09:00:00-06:00"
    assert body["arrival_window_end"] == "2025-06-05T11:00:00-06:00"
    assert body["assigned_technician"] == {"id": technician.pk, "name": str(technician)}
    customer = full_work_order.customer
    assert body["customer"] == {
        "id": customer.pk,
        "name": customer.display_name,
        "company_name": "",
        "phone": "+13035550123",
        "email": customer.email,
    }
    location = body["location"]
    assert location["address"] == "1200 Pearl St, Denver, CO 80203"
    assert (location["latitude"], location["longitude"]) == ("39.737600", "-104.980000")
    assert location["timezone"] == "America/Denver"
    assert location["access_notes"] == "Gate code 4412. Dog in the yard."
    assert [e["serial_number"] for e in location["equipment"]] == ["SN-AC-1", "SN-F-1"]
    assert body["equipment"] == [
        {
            "id": full_work_order.equipment.get().pk,
            "kind": "air_conditioner",
            "manufacturer": "Carrier",
            "model_number": "24ACC636A003",
            "serial_number": "SN-AC-1",
            "refrigerant": "R-410A",
            "install_date": "2019-05-01",
            "warranty_expires": "2029-05-01",
        }
    ]
    assert body["required_skills"] == [
        {
            "id": full_work_order.required_skills.get().pk,
            "code": "epa-608",
            "name": "EPA 608",
            "kind": "skill",
        }
    ]
    [required] = body["required_parts"]
    assert (required["sku"], required["quantity"], required["unit_price"]) == (
        "CAP-455",
        2,
        "38.50",
    )


def test_detail_lines_carry_exact_decimal_strings(tech_client, full_work_order):
    lines = tech_client.get(url(full_work_order.pk)).json()["lines"]

    assert [(ln["kind"], ln["quantity"], ln["unit_price"], ln["amount"]) for ln in lines] == [
        ("service", "1.000", "89.00", "89.00"),
        ("part", "2.500", "38.50", "96.25"),
    ]


def test_allowed_next_statuses_for_a_technician_are_their_field_moves(
    tech_client, office_client, full_work_order
):
    as_technician = tech_client.get(url(full_work_order.pk)).json()
    as_office = office_client.get(url(full_work_order.pk)).json()

    assert as_technician["allowed_next_statuses"] == ["en_route", "on_hold"]
    assert as_office["allowed_next_statuses"] == ["cancelled", "en_route", "on_hold", "scheduled"]


def test_a_technician_cannot_open_a_colleagues_order(tech_client, dispatcher, business):
    colleague = f.TechnicianFactory(business=business)
    theirs = dispatched_to(colleague, dispatcher)

    response = tech_client.get(url(theirs.pk))

    assert response.status_code == 404


def test_another_business_order_answers_like_a_missing_one(office_client, foreign_work_order):
    foreign = office_client.get(url(foreign_work_order.pk))
    missing = office_client.get(url(missing_id()))

    assert foreign.status_code == missing.status_code == 404
    assert (
        foreign.json()
        == missing.json()
        == {
            "detail": "No WorkOrder matches the given query.",
            "code": "not_found",
        }
    )


def test_a_non_numeric_id_is_a_404(office_client):
    assert office_client.get(url("abc")).status_code == 404


def test_detail_queries_do_not_grow_with_lines_or_equipment(
    office_client, full_work_order, django_assert_max_num_queries
):
    with CaptureQueriesContext(connection) as before:
        office_client.get(url(full_work_order.pk))
    for _ in range(5):
        f.LineItemFactory(work_order=full_work_order)
        full_work_order.equipment.add(f.EquipmentFactory(location=full_work_order.location))

    # token, business, order (+customer, location, category, technician), lines, skills,
    # required parts (+part), order equipment, location equipment.
    with django_assert_max_num_queries(9):
        office_client.get(url(full_work_order.pk))
    with CaptureQueriesContext(connection) as after:
        office_client.get(url(full_work_order.pk))
    assert len(after.captured_queries) == len(before.captured_queries)


def test_an_order_without_window_or_technician_still_renders(office_client, business):
    bare = work_order_of(business, arrival_window_start=None, arrival_window_end=None)

    body = office_client.get(url(bare.pk)).json()

    assert body["arrival_window_start"] is None
    assert body["assigned_technician"] is None
    assert body["lines"] == [] and body["equipment"] == []
