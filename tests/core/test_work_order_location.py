"""work_order_location_set and its WorkOrderLocationChanged event, from the service and the
work-order admin."""

import pytest
from django.db import transaction
from django.urls import reverse

from apps.core import events
from apps.core.admin.permissions import grant_office_permissions
from apps.core.errors import DomainError
from apps.core.models import Role, WorkOrder
from apps.core.services.work_orders import work_order_location_set
from tests import factories as f
from tests.core.conftest import S
from tests.core.test_admin_billing import _work_order_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def moves():
    """Every WorkOrderLocationChanged delivered (after commit) while the test runs."""
    seen: list[events.WorkOrderLocationChanged] = []
    events.subscribe(events.WorkOrderLocationChanged)(seen.append)
    yield seen
    events.unsubscribe(events.WorkOrderLocationChanged, seen.append)


def _second_location(work_order, **kwargs):
    return f.ServiceLocationFactory(
        customer=work_order.customer, label="Rental", address_line1="77 Elm St", **kwargs
    )


def test_a_move_is_published_after_commit_only(
    make_order, dispatcher, moves, django_capture_on_commit_callbacks
):
    work_order = make_order(S.SCHEDULED)
    before = work_order.location_id
    rental = _second_location(work_order)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        work_order_location_set(work_order=work_order, location=rental, by=dispatcher)
    assert moves == []  # nothing until the transaction commits
    for callback in callbacks:
        callback()
    [event] = moves
    assert (event.location_id, event.previous_location_id) == (rental.pk, before)
    assert (event.work_order_id, event.business_id) == (work_order.pk, work_order.business_id)
    assert event.changed_by_id == dispatcher.pk
    assert event.occurred_at.tzinfo is not None
    assert WorkOrder.objects.get(pk=work_order.pk).location_id == rental.pk
    assert work_order.location_id == rental.pk


def test_the_same_location_again_publishes_nothing(
    make_order, moves, django_capture_on_commit_callbacks
):
    work_order = make_order(S.DISPATCHED)
    with django_capture_on_commit_callbacks(execute=True):
        work_order_location_set(work_order=work_order, location=work_order.location)
    assert moves == []


def test_a_rolled_back_move_publishes_nothing(
    make_order, moves, django_capture_on_commit_callbacks
):
    work_order = make_order(S.SCHEDULED)
    rental = _second_location(work_order)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        work_order_location_set(work_order=work_order, location=rental)
        raise RuntimeError("boom")
    assert moves == []
    assert WorkOrder.objects.get(pk=work_order.pk).location_id != rental.pk


@pytest.mark.parametrize("status", [S.COMPLETED, S.INVOICED, S.PAID, S.CANCELLED])
def test_a_closed_order_cannot_move(make_order, moves, status, django_capture_on_commit_callbacks):
    work_order = make_order(status)
    rental = _second_location(work_order)
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(DomainError, match="cannot change location"),
    ):
        work_order_location_set(work_order=work_order, location=rental)
    assert moves == []
    assert WorkOrder.objects.get(pk=work_order.pk).location_id != rental.pk


def test_another_business_location_is_refused(make_order, other_business, moves):
    work_order = make_order(S.SCHEDULED)
    elsewhere = f.ServiceLocationFactory(customer__business=other_business)
    with pytest.raises(DomainError, match="belongs to another business"):
        work_order_location_set(work_order=work_order, location=elsewhere)
    assert WorkOrder.objects.get(pk=work_order.pk).location_id != elsewhere.pk


def test_another_customers_location_is_refused(make_order, business):
    work_order = make_order(S.SCHEDULED)
    neighbour = f.ServiceLocationFactory(customer__business=business)
    with pytest.raises(DomainError, match="different customer"):
        work_order_location_set(work_order=work_order, location=neighbour)


# --- through the admin ---------------------------------------------------------------------------


@pytest.fixture
def signed_in(client, business):
    user = f.UserFactory(business=business, role=Role.DISPATCHER)
    grant_office_permissions(user)
    client.force_login(user)
    client.user = user
    return client


def test_admin_location_edit_publishes_location_changed(
    signed_in, make_order, moves, django_capture_on_commit_callbacks
):
    work_order = make_order(S.SCHEDULED)
    before = work_order.location_id
    rental = _second_location(work_order)
    url = reverse("admin:core_workorder_change", args=[work_order.pk])
    form = _work_order_form(work_order, location=rental.pk, summary="At the rental")
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_in.post(url, form).status_code == 302
    stored = WorkOrder.objects.get(pk=work_order.pk)
    assert (stored.location_id, stored.summary) == (rental.pk, "At the rental")
    [event] = moves
    assert (event.location_id, event.previous_location_id) == (rental.pk, before)
    assert event.changed_by_id == signed_in.user.pk


def test_admin_edit_without_location_change_publishes_nothing(
    signed_in, make_order, moves, django_capture_on_commit_callbacks
):
    work_order = make_order(S.SCHEDULED)
    url = reverse("admin:core_workorder_change", args=[work_order.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert signed_in.post(url, _work_order_form(work_order, summary="Typo")).status_code == 302
    assert moves == []


def test_admin_location_edit_on_a_closed_order_is_a_form_error(
    signed_in, make_order, moves, django_capture_on_commit_callbacks
):
    work_order = make_order(S.COMPLETED)
    rental = _second_location(work_order)
    url = reverse("admin:core_workorder_change", args=[work_order.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in.post(url, _work_order_form(work_order, location=rental.pk))
    assert response.status_code == 200
    assert "A work order that is completed cannot change location." in response.content.decode()
    assert WorkOrder.objects.get(pk=work_order.pk).location_id == work_order.location_id
    assert moves == []
