import pytest

from apps.core.models import WorkOrderStatusChange
from tests import factories as f
from tests.api.helpers import dispatched_to, missing_id, work_order_of


def url(pk) -> str:
    return f"/api/v1/work-orders/{pk}/transition/"


def test_a_technician_moves_their_order_en_route(
    tech_client, technician, dispatcher, captured_events, django_capture_on_commit_callbacks
):
    work_order = dispatched_to(technician, dispatcher)

    with django_capture_on_commit_callbacks(execute=True):
        response = tech_client.post(
            url(work_order.pk), {"status": "en_route", "note": "Leaving the shop"}, format="json"
        )

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == work_order.pk
    assert body["status"] == "en_route"
    assert body["allowed_next_statuses"] == ["on_hold", "on_site"]
    assert "customer" in body and "lines" in body  # the full detail, ready to re-render
    change = WorkOrderStatusChange.objects.filter(work_order=work_order).latest("pk")
    assert (change.from_status, change.to_status) == ("dispatched", "en_route")
    assert change.changed_by == technician.user
    assert change.note == "Leaving the shop"
    [event] = captured_events  # published once, after commit
    assert (event.work_order_id, event.to_status, event.changed_by_id) == (
        work_order.pk,
        "en_route",
        technician.user.pk,
    )


def test_the_office_schedules_a_new_order(office_client, business):
    work_order = work_order_of(business)

    response = office_client.post(url(work_order.pk), {"status": "scheduled"}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "scheduled"


def test_a_move_the_state_machine_refuses_is_a_400_with_the_reason(office_client, business):
    work_order = work_order_of(business)

    response = office_client.post(url(work_order.pk), {"status": "completed"}, format="json")

    assert response.status_code == 400
    assert response.json() == {
        "detail": "A work order that is new cannot become completed. "
        "Allowed next: cancelled, dispatched, on_hold, scheduled.",
        "code": "transition_refused",
    }
    work_order.refresh_from_db()
    assert work_order.status == "new"


@pytest.mark.parametrize("office_only", ["cancelled", "scheduled"])
def test_a_technician_cannot_make_office_moves(tech_client, technician, dispatcher, office_only):
    work_order = dispatched_to(technician, dispatcher)

    response = tech_client.post(url(work_order.pk), {"status": office_only}, format="json")

    assert response.status_code == 400
    # Only the moves a technician may make are offered, never the office's.
    assert response.json()["detail"] == (
        f"Only the office can mark a work order {office_only}. Allowed next: en_route, on_hold."
    )
    work_order.refresh_from_db()
    assert work_order.status == "dispatched"


def test_an_unknown_status_is_a_400_naming_the_field(office_client, business):
    work_order = work_order_of(business)

    response = office_client.post(url(work_order.pk), {"status": "teleported"}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"status": ['"teleported" is not a valid choice.']}


def test_a_missing_status_is_a_400(office_client, business):
    response = office_client.post(url(work_order_of(business).pk), {}, format="json")

    assert response.status_code == 400
    assert response.json()["errors"] == {"status": ["This field is required."]}


def test_another_business_order_answers_like_a_missing_one(office_client, foreign_work_order):
    foreign = office_client.post(url(foreign_work_order.pk), {"status": "cancelled"}, format="json")
    missing = office_client.post(url(missing_id()), {"status": "cancelled"}, format="json")

    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    foreign_work_order.refresh_from_db()
    assert foreign_work_order.status == "new"
    assert not WorkOrderStatusChange.objects.filter(work_order=foreign_work_order).exists()


def test_the_404_comes_before_body_validation(office_client, foreign_work_order):
    # An invalid body must not turn "not yours" into a 400 that confirms the id exists.
    response = office_client.post(url(foreign_work_order.pk), {"status": "nope"}, format="json")

    assert response.status_code == 404


def test_a_technician_cannot_move_a_colleagues_order(tech_client, dispatcher, business):
    colleague = f.TechnicianFactory(business=business)
    theirs = dispatched_to(colleague, dispatcher)

    response = tech_client.post(url(theirs.pk), {"status": "en_route"}, format="json")

    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == "dispatched"


def test_get_is_not_allowed(office_client, business):
    assert office_client.get(url(work_order_of(business).pk)).status_code == 405


# --- retries and refusals in the user's terms -------------------------------------------------
def test_repeating_the_move_just_made_answers_200_and_records_it_once(
    tech_client, technician, dispatcher, captured_events, django_capture_on_commit_callbacks
):
    work_order = dispatched_to(technician, dispatcher)
    with django_capture_on_commit_callbacks(execute=True):
        first = tech_client.post(url(work_order.pk), {"status": "en_route"}, format="json")
        # The answer was lost on a bad network; the app sends the same move again.
        retry = tech_client.post(url(work_order.pk), {"status": "en_route"}, format="json")
    assert first.status_code == retry.status_code == 200
    assert retry.json() == first.json()
    assert retry.json()["status"] == "en_route"
    moves = WorkOrderStatusChange.objects.filter(work_order=work_order, to_status="en_route")
    assert moves.count() == 1
    assert [e.to_status for e in captured_events] == ["en_route"]


def test_a_repeat_is_only_a_repeat_for_someone_who_may_make_the_move(
    tech_client, technician, dispatcher
):
    work_order = dispatched_to(technician, dispatcher)  # dispatched: an office move
    response = tech_client.post(url(work_order.pk), {"status": "dispatched"}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == (
        "Only the office can mark a work order dispatched. Allowed next: en_route, on_hold."
    )


def test_a_status_never_moved_to_is_not_a_repeat(office_client, business):
    work_order = work_order_of(business)  # new since it was created: no move was made
    response = office_client.post(url(work_order.pk), {"status": "new"}, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "transition_refused"
    assert not WorkOrderStatusChange.objects.filter(work_order=work_order).exists()


def test_a_refusal_lists_only_the_technicians_own_moves(tech_client, technician, dispatcher):
    work_order = dispatched_to(technician, dispatcher)
    response = tech_client.post(url(work_order.pk), {"status": "completed"}, format="json")
    assert response.status_code == 400
    # Not "cancelled" or "scheduled": those are the office's moves.
    assert response.json()["detail"] == (
        "A work order that is dispatched cannot become completed. Allowed next: en_route, on_hold."
    )


def test_a_retry_on_another_business_order_answers_like_a_missing_one(
    office_client, foreign_work_order
):
    theirs = office_client.post(url(foreign_work_order.pk), {"status": "new"}, format="json")
    nowhere = office_client.post(url(missing_id()), {"status": "new"}, format="json")
    assert theirs.status_code == nowhere.status_code == 404
    assert theirs.json() == nowhere.json()
