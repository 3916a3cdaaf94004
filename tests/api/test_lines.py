from decimal import Decimal

from apps.core.models import LineItem
from apps.core.services.work_orders import work_order_transition
from tests import factories as f
from tests.api.helpers import dispatched_to, missing_id, work_order_of


def url(pk) -> str:
    return f"/api/v1/work-orders/{pk}/lines/"


def test_a_technician_adds_labour_to_their_job(tech_client, technician, dispatcher):
    work_order = dispatched_to(technician, dispatcher)

    response = tech_client.post(
        url(work_order.pk),
        {"kind": "service", "description": "Labour", "quantity": "1.5", "unit_price": "120.00"},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    line = LineItem.objects.get(pk=body["id"])
    assert body == {
        "id": line.pk,
        "kind": "service",
        "description": "Labour",
        "quantity": "1.500",
        "unit_price": "120.00",
        "amount": "180.00",
        "part": None,
        "taxable": True,
        "created_at": body["created_at"],
        "editable": True,  # their own line, on their open job
    }
    assert line.work_order == work_order
    assert line.created_by == technician.user
    assert line.business == work_order.business


def test_a_catalogue_part_brings_its_price_and_name(office_client, business):
    work_order = work_order_of(business)
    part = f.PartFactory(business=business, name="Contactor 40A", unit_price=Decimal("24.75"))

    response = office_client.post(
        url(work_order.pk),
        {"kind": "part", "part": part.pk, "quantity": "3", "taxable": False},
        format="json",
    )

    assert response.status_code == 201
    body = response.json()
    assert (body["description"], body["unit_price"], body["amount"]) == (
        "Contactor 40A",
        "24.75",
        "74.25",
    )
    assert body["part"] == part.pk
    assert body["taxable"] is False


def test_a_part_of_another_business_is_unknown(office_client, business, other_business):
    work_order = work_order_of(business)
    foreign_part = f.PartFactory(business=other_business)

    foreign = office_client.post(
        url(work_order.pk), {"kind": "part", "part": foreign_part.pk}, format="json"
    )
    missing = office_client.post(
        url(work_order.pk), {"kind": "part", "part": 987654}, format="json"
    )

    assert foreign.status_code == missing.status_code == 400
    assert (
        foreign.json()
        == missing.json()
        == {
            "detail": "part: Unknown part.",
            "code": "invalid",
            "errors": {"part": ["Unknown part."]},
        }
    )
    assert not LineItem.objects.filter(work_order=work_order).exists()


def test_a_price_is_required_without_a_part(office_client, business):
    work_order = work_order_of(business)

    response = office_client.post(
        url(work_order.pk), {"kind": "fee", "description": "Trip charge"}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["detail"] == (
        "A unit price is required unless a part from the catalogue is given."
    )
    assert response.json()["errors"] == {"unit_price": [response.json()["detail"]]}


def test_bad_numbers_are_refused_per_field(office_client, business):
    work_order = work_order_of(business)

    response = office_client.post(
        url(work_order.pk),
        {"kind": "other", "quantity": "0", "unit_price": "-1"},
        format="json",
    )

    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"kind", "quantity", "unit_price"}


def test_lines_cannot_be_added_to_a_closed_job(office_client, business, dispatcher):
    work_order = work_order_of(business)
    work_order_transition(work_order=work_order, to_status="cancelled", by=dispatcher)

    response = office_client.post(
        url(work_order.pk),
        {"kind": "fee", "description": "Trip", "unit_price": "49"},
        format="json",
    )

    # Cancelled is not completed, but it is not editable either: the service decides.
    assert response.status_code == 400
    assert response.json()["detail"] == "Lines cannot be added to a work order that is cancelled."


def test_another_business_order_answers_like_a_missing_one(office_client, foreign_work_order):
    body = {"kind": "fee", "description": "Trip", "unit_price": "49.00"}

    foreign = office_client.post(url(foreign_work_order.pk), body, format="json")
    missing = office_client.post(url(missing_id()), body, format="json")

    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert foreign_work_order.lines.count() == 1  # only the line the fixture made


def test_a_technician_cannot_add_to_a_colleagues_order(tech_client, dispatcher, business):
    theirs = dispatched_to(f.TechnicianFactory(business=business), dispatcher)

    response = tech_client.post(
        url(theirs.pk), {"kind": "fee", "description": "Trip", "unit_price": "49"}, format="json"
    )

    assert response.status_code == 404
    assert not theirs.lines.exists()


def test_the_new_line_shows_in_the_detail(office_client, business):
    work_order = work_order_of(business)
    office_client.post(
        url(work_order.pk),
        {"kind": "fee", "description": "Trip", "unit_price": "49"},
        format="json",
    )

    lines = office_client.get(f"/api/v1/work-orders/{work_order.pk}/").json()["lines"]

    assert [(ln["description"], ln["amount"]) for ln in lines] == [("Trip", "49.00")]
