"""Batch upload (idempotent on client_id), manual entry, listing; tenancy."""

import uuid
from decimal import Decimal

import pytest

from apps.diagnostics.models import Instrument, Reading
from tests import factories as f
from tests.diagnostics.conftest import reading

URL = "/api/v1/diagnostics/readings/"


def test_batch_upload_stores_readings_with_their_instrument(tech_client, work_order, equipment):
    batch = [
        reading(work_order, "suction_pressure", "118.2", "psig", equipment=equipment.pk,
                instrument_family="testo", instrument_model="T549i", instrument_serial="12345678"),
        reading(work_order, "suction_line_temp", "52.1", "F", equipment=equipment.pk),
    ]  # fmt: skip
    response = tech_client.post(URL, {"readings": batch}, format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["created"] == 2 and body["already_stored"] == 0
    stored = Reading.objects.get(client_id=batch[0]["client_id"])
    assert stored.value == Decimal("118.2") and stored.unit == "psig"
    assert stored.instrument.serial == "12345678" and stored.instrument.model == "T549i"
    assert stored.capture_method == "ble" and stored.equipment == equipment
    assert body["readings"][0]["instrument_family"] == "testo"


def test_re_upload_returns_the_same_rows_and_never_duplicates(tech_client, work_order):
    batch = [reading(work_order, "co", 12, "ppm"), reading(work_order, "o2", 8.5, "pct")]
    first = tech_client.post(URL, {"readings": batch}, format="json").json()

    again = tech_client.post(
        URL, {"readings": [*batch, reading(work_order, "co2", 8.1, "pct")]}, format="json"
    )

    assert again.status_code == 201
    assert again.json()["created"] == 1 and again.json()["already_stored"] == 2
    assert [r["id"] for r in again.json()["readings"][:2]] == [r["id"] for r in first["readings"]]
    assert Reading.objects.count() == 3
    repeat = tech_client.post(URL, {"readings": batch}, format="json")
    assert repeat.status_code == 200 and repeat.json()["created"] == 0


def test_a_bad_reading_rejects_the_batch_and_stores_nothing(tech_client, work_order):
    batch = [
        reading(work_order, "co", 12, "ppm"),
        reading(work_order, "suction_pressure", 118, "ppm"),
    ]
    response = tech_client.post(URL, {"readings": batch}, format="json")

    assert response.status_code == 400
    assert "not a unit for suction_pressure" in response.json()["detail"]
    assert Reading.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"taken_at": "2026-01-01T10:00:00"}, ""),  # naive is read in the business zone: accepted
        ({"taken_at": "2099-01-01T10:00:00Z"}, "future"),
        ({"quantity": "flux"}, "flux"),
        ({"value": "abc"}, "number"),
    ],
)
def test_validation(tech_client, work_order, change, message):
    item = {**reading(work_order, "co", 1, "ppm"), **change}
    response = tech_client.post(URL, {"readings": [item]}, format="json")
    if not message:
        assert response.status_code == 201
    else:
        assert response.status_code == 400 and message in str(response.json())


def test_duplicate_client_id_inside_one_batch_is_refused(tech_client, work_order):
    item = reading(work_order, "co", 1, "ppm")
    response = tech_client.post(URL, {"readings": [item, item]}, format="json")
    assert response.status_code == 400 and "twice" in response.json()["detail"]


def test_equipment_must_be_at_the_job(tech_client, work_order, business):
    elsewhere = f.EquipmentFactory(
        location=f.ServiceLocationFactory(customer=f.CustomerFactory(business=business))
    )
    item = reading(work_order, "co", 1, "ppm", equipment=elsewhere.pk)
    response = tech_client.post(URL, {"readings": [item]}, format="json")
    assert response.status_code == 400 and "location" in response.json()["detail"]


def test_another_business_cannot_upload_to_or_list_my_work_order(
    rival_client, tech_client, work_order
):
    tech_client.post(URL, {"readings": [reading(work_order, "co", 1, "ppm")]}, format="json")

    upload = rival_client.post(
        URL, {"readings": [reading(work_order, "co", 2, "ppm")]}, format="json"
    )
    listing = rival_client.get(URL, {"work_order": work_order.pk})
    missing = rival_client.get(URL, {"work_order": work_order.pk + 10_000})
    per_order = rival_client.get(f"/api/v1/diagnostics/work-orders/{work_order.pk}/readings/")

    assert upload.status_code == 404
    # The filter answers exactly as for an id that does not exist: no existence oracle.
    assert listing.status_code == missing.status_code == 400
    assert listing.content == missing.content
    assert per_order.status_code == 404
    assert Reading.objects.count() == 1


def test_a_client_id_reused_by_another_business_is_theirs_alone(
    rival_client, other_business, tech_client, work_order
):
    theirs = f.WorkOrderFactory(
        location=f.ServiceLocationFactory(customer=f.CustomerFactory(business=other_business))
    )
    item = reading(work_order, "co", 1, "ppm")
    tech_client.post(URL, {"readings": [item]}, format="json")
    response = rival_client.post(
        URL, {"readings": [{**item, "work_order": theirs.pk}]}, format="json"
    )
    assert response.status_code == 201  # same uuid, separate business: no leak, no collision
    assert Reading.objects.filter(client_id=item["client_id"]).count() == 2


def test_technicians_reach_only_their_own_jobs(technician, business, tech_client):
    not_mine = f.WorkOrderFactory(
        location=f.ServiceLocationFactory(customer=f.CustomerFactory(business=business))
    )
    response = tech_client.post(
        URL, {"readings": [reading(not_mine, "co", 1, "ppm")]}, format="json"
    )
    assert response.status_code == 404


def test_manual_entry_and_listing_per_work_order(
    tech_client, office_client, work_order, technician
):
    url = f"/api/v1/diagnostics/work-orders/{work_order.pk}/readings/"
    response = tech_client.post(
        url, {"quantity": "voltage", "value": "241.5", "unit": "V", "phase": "out"}, format="json"
    )

    assert response.status_code == 201, response.json()
    stored = Reading.objects.get()
    assert (
        stored.capture_method == "manual"
        and stored.phase == "out"
        and stored.entered_by == technician.user
    )
    client_id = str(uuid.uuid4())
    body = {"client_id": client_id, "quantity": "amperage", "value": "18.2", "unit": "A"}
    assert tech_client.post(url, body, format="json").status_code == 201
    assert tech_client.post(url, body, format="json").status_code == 200  # same id: same row
    listed = office_client.get(url).json()
    assert [r["quantity"] for r in listed] == ["voltage", "amperage"]
    assert Instrument.objects.count() == 0


def test_unauthenticated_is_refused(client, work_order):
    assert client.post(URL, {}, content_type="application/json").status_code == 401
