"""PATCH and DELETE /api/v1/work-orders/{id}/lines/{line_id}/, and the per-business ceilings on
a line's quantity and amount (API and admin)."""

from decimal import Decimal

import pytest

from apps.core import events
from apps.core.models import LineItem
from apps.core.services.billing import invoice_create_for_work_order
from apps.core.services.work_orders import work_order_transition
from tests import factories as f
from tests.api.helpers import client_for, dispatched_to, missing_id, work_order_of


def lines_url(pk) -> str:
    return f"/api/v1/work-orders/{pk}/lines/"


def line_url(pk, line_id) -> str:
    return f"/api/v1/work-orders/{pk}/lines/{line_id}/"


@pytest.fixture
def line_events():
    seen = []
    events.subscribe(events.WorkOrderLineChanged)(seen.append)
    yield seen
    events.unsubscribe(events.WorkOrderLineChanged, seen.append)


@pytest.fixture
def job(technician, dispatcher):
    return dispatched_to(technician, dispatcher)


def added_by(client, work_order, **body) -> dict:
    payload = {"kind": "service", "description": "Labour", "quantity": "1", "unit_price": "120"}
    response = client.post(lines_url(work_order.pk), {**payload, **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


# --- the technician's own lines ---------------------------------------------------------------
def test_a_technician_corrects_a_line_they_added(
    tech_client, job, technician, line_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        line = added_by(tech_client, job)
        response = tech_client.patch(
            line_url(job.pk, line["id"]),
            {"quantity": "2.5", "description": "Labour, 2.5 h"},
            format="json",
        )
    assert response.status_code == 200
    body = response.json()
    assert (body["quantity"], body["amount"], body["description"]) == (
        "2.500",
        "300.00",
        "Labour, 2.5 h",
    )
    assert body["editable"] is True
    stored = LineItem.objects.get(pk=line["id"])
    assert (stored.quantity, stored.unit_price) == (Decimal("2.5"), Decimal("120.00"))
    # Published as adding is: once per change, after commit.
    assert [(e.change, e.line_id, e.changed_by_id) for e in line_events] == [
        ("added", line["id"], technician.user.pk),
        ("updated", line["id"], technician.user.pk),
    ]


def test_a_technician_removes_a_line_they_added(
    tech_client, job, line_events, django_capture_on_commit_callbacks
):
    line = added_by(tech_client, job)
    with django_capture_on_commit_callbacks(execute=True):
        response = tech_client.delete(line_url(job.pk, line["id"]))
    assert response.status_code == 204
    assert not LineItem.objects.filter(pk=line["id"]).exists()
    assert [(e.change, e.line_id) for e in line_events] == [("removed", line["id"])]
    detail = tech_client.get(f"/api/v1/work-orders/{job.pk}/").json()
    assert detail["lines"] == []


def test_an_empty_patch_changes_nothing_and_publishes_nothing(
    tech_client, job, line_events, django_capture_on_commit_callbacks
):
    line = added_by(tech_client, job)
    with django_capture_on_commit_callbacks(execute=True):
        response = tech_client.patch(line_url(job.pk, line["id"]), {}, format="json")
    assert response.status_code == 200 and response.json()["amount"] == "120.00"
    assert line_events == []


def test_bad_values_are_refused_per_field(tech_client, job):
    line = added_by(tech_client, job)
    response = tech_client.patch(
        line_url(job.pk, line["id"]), {"quantity": "0", "unit_price": "-3"}, format="json"
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"quantity", "unit_price"}


# --- the rule: whose lines, and when ----------------------------------------------------------
def test_a_technician_may_not_change_a_line_the_office_added(tech_client, office_client, job):
    quoted = added_by(office_client, job, description="Quoted repair", unit_price="450")
    patch = tech_client.patch(line_url(job.pk, quoted["id"]), {"unit_price": "1"}, format="json")
    delete = tech_client.delete(line_url(job.pk, quoted["id"]))
    for response in (patch, delete):
        assert response.status_code == 403
        assert response.json() == {
            "detail": "You can change only the lines you added; ask the office to change this one.",
            "code": "not_permitted",
        }
    assert LineItem.objects.get(pk=quoted["id"]).unit_price == Decimal("450.00")
    lines = tech_client.get(f"/api/v1/work-orders/{job.pk}/").json()["lines"]
    assert [ln["editable"] for ln in lines] == [False]


def test_the_office_may_change_a_technicians_line(tech_client, office_client, job):
    line = added_by(tech_client, job)
    response = office_client.patch(
        line_url(job.pk, line["id"]), {"unit_price": "95", "taxable": False}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["amount"], response.json()["taxable"]) == ("95.00", False)


def test_a_colleagues_job_is_not_found(tech_client, dispatcher, business):
    theirs = dispatched_to(f.TechnicianFactory(business=business), dispatcher)
    line = f.LineItemFactory(work_order=theirs)
    assert tech_client.patch(line_url(theirs.pk, line.pk), {}, format="json").status_code == 404
    assert tech_client.delete(line_url(theirs.pk, line.pk)).status_code == 404
    assert LineItem.objects.filter(pk=line.pk).exists()


@pytest.mark.parametrize("closed", ["completed", "cancelled"])
def test_lines_of_a_closed_job_cannot_change(tech_client, technician, dispatcher, closed):
    job = dispatched_to(technician, dispatcher)
    line = added_by(tech_client, job)
    if closed == "completed":
        for status in ("en_route", "on_site", "completed"):
            work_order_transition(work_order=job, to_status=status, by=technician.user)
    else:
        work_order_transition(work_order=job, to_status="cancelled", by=dispatcher)
    response = tech_client.patch(line_url(job.pk, line["id"]), {"quantity": "3"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        f"Lines cannot be changed on a work order that is {closed}."
    )
    assert tech_client.delete(line_url(job.pk, line["id"])).status_code == 400
    assert LineItem.objects.get(pk=line["id"]).quantity == Decimal("1")


def test_a_line_on_an_invoice_is_changed_on_the_invoice(tech_client, job, technician):
    line = added_by(tech_client, job)
    for status in ("en_route", "on_site", "completed"):
        work_order_transition(work_order=job, to_status=status, by=technician.user)
    invoice = invoice_create_for_work_order(work_order=job)
    assert LineItem.objects.get(pk=line["id"]).invoice == invoice
    office = client_for(f.UserFactory(business=job.business, role="dispatcher"))
    response = office.patch(line_url(job.pk, line["id"]), {"quantity": "2"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "This line is on an invoice already; change the invoice instead."
    )


# --- another business's ids answer like missing ones ------------------------------------------
def test_ids_of_another_business_answer_exactly_like_missing_ones(
    office_client, business, foreign_work_order
):
    mine = work_order_of(business)
    my_line = f.LineItemFactory(work_order=mine)
    other_of_mine = f.LineItemFactory(work_order=work_order_of(business))
    foreign_line = foreign_work_order.lines.get()
    for method in ("patch", "delete"):
        call = getattr(office_client, method)
        kwargs = {"data": {"quantity": "2"}, "format": "json"} if method == "patch" else {}
        # Their work order (with its real line id) vs a work order that does not exist.
        theirs = call(line_url(foreign_work_order.pk, foreign_line.pk), **kwargs)
        nowhere = call(line_url(missing_id(), foreign_line.pk), **kwargs)
        assert theirs.status_code == nowhere.status_code == 404
        assert theirs.json() == nowhere.json()
        # My work order with their line id, another of my orders' line, or no such line.
        answers = [
            call(line_url(mine.pk, line_id), **kwargs)
            for line_id in (foreign_line.pk, other_of_mine.pk, missing_id(), 2**70, -1)
        ]
        assert {a.status_code for a in answers} == {404}
        assert all(a.json() == answers[0].json() for a in answers)
        assert answers[0].json()["detail"] == "No such line on this work order."
    assert foreign_line.quantity == LineItem.objects.get(pk=foreign_line.pk).quantity
    assert LineItem.objects.filter(pk__in=[my_line.pk, other_of_mine.pk]).count() == 2


# --- ceilings ---------------------------------------------------------------------------------
def test_a_quantity_beyond_the_ceiling_is_refused_on_add_and_on_edit(tech_client, job):
    response = tech_client.post(
        lines_url(job.pk),
        {"kind": "part", "description": "Filter", "quantity": "9999999", "unit_price": "24"},
        format="json",
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "line_limit" and set(body["errors"]) == {"quantity"}
    assert body["detail"] == (
        "A quantity of 9,999,999 is more than one line may have (1,000). Check the number; if "
        "it is right, the office can raise the limit in the business settings."
    )
    assert not LineItem.objects.filter(work_order=job).exists()
    line = added_by(tech_client, job, quantity="2", unit_price="24")
    edit = tech_client.patch(line_url(job.pk, line["id"]), {"quantity": "9999999"}, format="json")
    assert edit.status_code == 400 and edit.json()["code"] == "line_limit"
    assert LineItem.objects.get(pk=line["id"]).quantity == Decimal("2")


def test_an_amount_beyond_the_ceiling_is_refused_and_the_ceiling_is_per_business(
    tech_client, job, business
):
    big = {"kind": "service", "description": "New system", "quantity": "1", "unit_price": "150000"}
    refused = tech_client.post(lines_url(job.pk), big, format="json")
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith(
        "This line would come to $150,000.00, more than one line may be worth ($100,000.00)."
    )
    assert set(refused.json()["errors"]) == {"unit_price"}
    line = added_by(tech_client, job, unit_price="900")
    pricier = tech_client.patch(
        line_url(job.pk, line["id"]), {"quantity": "200"}, format="json"
    )  # 200 x 900 = 180,000
    assert pricier.status_code == 400 and "$180,000.00" in pricier.json()["detail"]
    business.line_amount_max = Decimal("250000")
    business.save(update_fields=["line_amount_max"])
    assert tech_client.post(lines_url(job.pk), big, format="json").status_code == 201
