"""The work order state machine (work_order_transition): its guards, audit trail and after-commit
event. work_order_create, _assign and _window_set are in test_work_orders.py."""

import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.core import events
from apps.core.errors import TransitionRefused
from apps.core.models import (
    ALLOWED_TRANSITIONS,
    Role,
    WorkOrder,
    WorkOrderStatus,
    WorkOrderStatusChange,
)
from apps.core.models.work_orders import TECHNICIAN_TRANSITIONS
from apps.core.services.work_orders import (
    work_order_transition,
)
from tests import factories as f

S = WorkOrderStatus
ALLOWED = sorted((a, b) for a, targets in ALLOWED_TRANSITIONS.items() for b in targets)
REFUSED = sorted(set(itertools.product(S.values, S.values)) - set(ALLOWED))
OFFICE_ONLY = [(a, b) for a, b in ALLOWED if b not in TECHNICIAN_TRANSITIONS]
FIELD_MOVES = [(a, b) for a, b in ALLOWED if b in TECHNICIAN_TRANSITIONS]


def _pair_id(pair) -> str:
    return f"{pair[0]}->{pair[1]}"


def test_every_status_has_a_rule():
    assert set(ALLOWED_TRANSITIONS) == set(S.values)
    assert len(ALLOWED) + len(REFUSED) == len(S.values) ** 2


@pytest.mark.parametrize(("from_status", "to_status"), ALLOWED, ids=map(_pair_id, ALLOWED))
def test_allowed_transition_succeeds(make_order, dispatcher, from_status, to_status):
    work_order = make_order(from_status)

    result = work_order_transition(work_order=work_order, to_status=to_status, by=dispatcher)

    assert result.status == to_status
    assert work_order.status == to_status  # the caller's object is kept in step
    assert WorkOrder.objects.get(pk=work_order.pk).status == to_status
    change = WorkOrderStatusChange.objects.get(work_order=work_order)
    assert (change.from_status, change.to_status) == (from_status, to_status)


@pytest.mark.parametrize(("from_status", "to_status"), REFUSED, ids=map(_pair_id, REFUSED))
def test_refused_transition_changes_nothing(
    make_order, dispatcher, django_capture_on_commit_callbacks, from_status, to_status
):
    work_order = make_order(from_status)

    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(TransitionRefused) as caught,
    ):
        work_order_transition(work_order=work_order, to_status=to_status, by=dispatcher)

    message = str(caught.value)
    assert (
        f"is {S(from_status).label.lower()} cannot become {S(to_status).label.lower()}" in message
    )
    assert caught.value.code == "transition_refused"
    assert work_order.status == from_status
    assert WorkOrder.objects.get(pk=work_order.pk).status == from_status
    assert not WorkOrderStatusChange.objects.filter(work_order=work_order).exists()
    assert callbacks == []


def test_refusal_lists_the_allowed_moves(make_order, dispatcher):
    work_order = make_order(S.COMPLETED)
    with pytest.raises(TransitionRefused, match=r"Allowed next: invoiced\."):
        work_order_transition(work_order=work_order, to_status=S.NEW, by=dispatcher)
    paid = make_order(S.PAID)
    with pytest.raises(TransitionRefused, match=r"none \(final status\)"):
        work_order_transition(work_order=paid, to_status=S.NEW, by=dispatcher)


def test_unknown_status_refused(make_order, dispatcher):
    work_order = make_order(S.NEW)
    with pytest.raises(TransitionRefused, match="'archived' is not a work order status"):
        work_order_transition(work_order=work_order, to_status="archived", by=dispatcher)
    assert WorkOrder.objects.get(pk=work_order.pk).status == S.NEW


# --- Guards ------------------------------------------------------------------------------------


@pytest.mark.parametrize("from_status", [S.NEW, S.ON_HOLD, S.DISPATCHED])
def test_scheduling_needs_an_arrival_window(make_order, dispatcher, from_status):
    work_order = make_order(from_status, arrival_window_start=None, arrival_window_end=None)
    with pytest.raises(TransitionRefused, match="Set an arrival window before scheduling"):
        work_order_transition(work_order=work_order, to_status=S.SCHEDULED, by=dispatcher)
    assert WorkOrder.objects.get(pk=work_order.pk).status == from_status


NEED_TECHNICIAN = [
    (S.NEW, S.DISPATCHED),
    (S.SCHEDULED, S.DISPATCHED),
    (S.ON_HOLD, S.DISPATCHED),
    (S.DISPATCHED, S.EN_ROUTE),
    (S.EN_ROUTE, S.ON_SITE),
]


@pytest.mark.parametrize(
    ("from_status", "to_status"), NEED_TECHNICIAN, ids=map(_pair_id, NEED_TECHNICIAN)
)
def test_dispatching_needs_a_technician(make_order, dispatcher, from_status, to_status):
    work_order = make_order(from_status, assigned_technician=None)
    with pytest.raises(TransitionRefused, match="Assign a technician before dispatching"):
        work_order_transition(work_order=work_order, to_status=to_status, by=dispatcher)
    assert WorkOrder.objects.get(pk=work_order.pk).status == from_status


@pytest.mark.parametrize(("from_status", "to_status"), FIELD_MOVES, ids=map(_pair_id, FIELD_MOVES))
def test_assigned_technician_makes_field_moves(make_order, technician, from_status, to_status):
    work_order = make_order(from_status)
    work_order_transition(work_order=work_order, to_status=to_status, by=technician.user)
    change = WorkOrderStatusChange.objects.get(work_order=work_order)
    assert (change.to_status, change.changed_by) == (to_status, technician.user)


@pytest.mark.parametrize(("from_status", "to_status"), OFFICE_ONLY, ids=map(_pair_id, OFFICE_ONLY))
def test_technician_cannot_make_office_moves(make_order, technician, from_status, to_status):
    work_order = make_order(from_status)
    with pytest.raises(TransitionRefused, match="Only the office can mark a work order"):
        work_order_transition(work_order=work_order, to_status=to_status, by=technician.user)
    assert WorkOrder.objects.get(pk=work_order.pk).status == from_status
    assert not WorkOrderStatusChange.objects.exists()


@pytest.mark.parametrize(("from_status", "to_status"), FIELD_MOVES, ids=map(_pair_id, FIELD_MOVES))
def test_technician_only_moves_own_order(make_order, business, technician, from_status, to_status):
    colleague = f.TechnicianFactory(business=business)
    work_order = make_order(from_status)  # assigned to `technician`, not the colleague
    with pytest.raises(TransitionRefused, match="Only the assigned technician"):
        work_order_transition(work_order=work_order, to_status=to_status, by=colleague.user)
    assert WorkOrder.objects.get(pk=work_order.pk).status == from_status


def test_technician_cannot_move_an_unassigned_order(make_order, technician):
    work_order = make_order(S.NEW, assigned_technician=None)
    with pytest.raises(TransitionRefused, match="Only the assigned technician"):
        work_order_transition(work_order=work_order, to_status=S.ON_HOLD, by=technician.user)


SAMPLE_MOVES = [(S.NEW, S.CANCELLED), (S.DISPATCHED, S.EN_ROUTE), (S.ON_SITE, S.COMPLETED)]


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.MANAGER, Role.ADMIN])
@pytest.mark.parametrize(
    ("from_status", "to_status"), SAMPLE_MOVES, ids=map(_pair_id, SAMPLE_MOVES)
)
def test_office_roles_make_any_move(make_order, business, role, from_status, to_status):
    # The order is assigned to someone else: the office is not limited to its own orders.
    office_user = f.UserFactory(business=business, role=role)
    work_order = make_order(from_status)
    work_order_transition(work_order=work_order, to_status=to_status, by=office_user)
    assert WorkOrder.objects.get(pk=work_order.pk).status == to_status


# --- Audit trail and event ---------------------------------------------------------------------


def test_transition_records_who_when_from_and_to(make_order, dispatcher):
    work_order = make_order(S.NEW)
    before = timezone.now()
    work_order_transition(
        work_order=work_order, to_status=S.SCHEDULED, by=dispatcher, note="Customer called"
    )
    work_order_transition(work_order=work_order, to_status=S.DISPATCHED, by=dispatcher)
    after = timezone.now()

    first, second = WorkOrderStatusChange.objects.filter(work_order=work_order)
    assert (first.from_status, first.to_status) == (S.NEW, S.SCHEDULED)
    assert (second.from_status, second.to_status) == (S.SCHEDULED, S.DISPATCHED)
    assert first.changed_by == second.changed_by == dispatcher
    assert first.note == "Customer called"
    assert before <= first.changed_at <= second.changed_at <= after
    assert first.business_id == work_order.business_id


def test_long_note_is_truncated_to_fit(make_order, dispatcher):
    work_order = make_order(S.NEW)
    work_order_transition(work_order=work_order, to_status=S.ON_HOLD, by=dispatcher, note="x" * 600)
    assert len(WorkOrderStatusChange.objects.get(work_order=work_order).note) == 500


def test_event_published_only_after_commit(
    make_order, dispatcher, captured_events, django_capture_on_commit_callbacks
):
    work_order = make_order(S.DISPATCHED)

    with django_capture_on_commit_callbacks(execute=True):
        work_order_transition(work_order=work_order, to_status=S.EN_ROUTE, by=dispatcher)
        assert captured_events == []  # nothing is told before the commit

    [event] = captured_events  # exactly once (subscribers may enqueue more callbacks of their own)
    assert isinstance(event, events.WorkOrderStatusChanged)
    assert event.business_id == work_order.business_id
    assert event.work_order_id == work_order.pk
    assert (event.from_status, event.to_status) == (S.DISPATCHED, S.EN_ROUTE)
    assert event.changed_by_id == dispatcher.pk
    assert timezone.is_aware(event.occurred_at)


def test_nothing_delivered_when_transaction_rolls_back(
    make_order, dispatcher, captured_events, django_capture_on_commit_callbacks
):
    work_order = make_order(S.DISPATCHED)

    class Abort(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Abort),
        transaction.atomic(),
    ):
        work_order_transition(work_order=work_order, to_status=S.EN_ROUTE, by=dispatcher)
        raise Abort

    assert callbacks == []
    assert captured_events == []
    assert WorkOrder.objects.get(pk=work_order.pk).status == S.DISPATCHED
    assert not WorkOrderStatusChange.objects.filter(work_order=work_order).exists()


def test_completing_sets_completed_at(make_order, technician):
    work_order = make_order(S.ON_SITE)
    assert work_order.completed_at is None
    before = timezone.now()
    work_order_transition(work_order=work_order, to_status=S.COMPLETED, by=technician.user)
    after = timezone.now()

    stored = WorkOrder.objects.get(pk=work_order.pk).completed_at
    assert stored is not None
    assert before <= stored <= after
    assert work_order.completed_at == stored


def test_other_moves_leave_completed_at_alone(make_order, dispatcher):
    work_order = make_order(S.ON_SITE)
    work_order_transition(work_order=work_order, to_status=S.ON_HOLD, by=dispatcher)
    assert WorkOrder.objects.get(pk=work_order.pk).completed_at is None


# --- Concurrency -------------------------------------------------------------------------------


def test_stale_object_is_judged_against_fresh_status(make_order, dispatcher):
    work_order = make_order(S.NEW)
    stale = WorkOrder.objects.get(pk=work_order.pk)  # a second screen loaded before the change

    work_order_transition(work_order=work_order, to_status=S.CANCELLED, by=dispatcher)

    # NEW -> SCHEDULED would be allowed for the stale copy, but the order is now cancelled.
    assert stale.status == S.NEW
    with pytest.raises(TransitionRefused, match="is cancelled cannot become scheduled"):
        work_order_transition(work_order=stale, to_status=S.SCHEDULED, by=dispatcher)
    assert WorkOrder.objects.get(pk=work_order.pk).status == S.CANCELLED


def test_stale_object_transition_records_the_fresh_from_status(make_order, dispatcher):
    work_order = make_order(S.NEW)
    stale = WorkOrder.objects.get(pk=work_order.pk)

    work_order_transition(work_order=work_order, to_status=S.ON_HOLD, by=dispatcher)
    # NEW -> NEW is never allowed; ON_HOLD -> NEW (resume) is. The fresh status decides.
    work_order_transition(work_order=stale, to_status=S.NEW, by=dispatcher)

    changes = list(
        WorkOrderStatusChange.objects.filter(work_order=work_order).values_list(
            "from_status", "to_status"
        )
    )
    assert changes == [(S.NEW, S.ON_HOLD), (S.ON_HOLD, S.NEW)]
    assert stale.status == S.NEW


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_transitions_are_serialised(make_order, technician):
    work_order = make_order(S.DISPATCHED)
    copies = [WorkOrder.objects.get(pk=work_order.pk) for _ in range(2)]
    barrier = threading.Barrier(len(copies))

    def move(copy: WorkOrder) -> str:
        try:
            barrier.wait(timeout=10)
            work_order_transition(work_order=copy, to_status=S.EN_ROUTE, by=technician.user)
            return "moved"
        except TransitionRefused:
            return "refused"
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(copies)) as pool:
        outcomes = sorted(pool.map(move, copies))

    # Both copies said DISPATCHED; the row lock makes the second see EN_ROUTE and refuse.
    assert outcomes == ["moved", "refused"]
    assert WorkOrderStatusChange.objects.filter(work_order=work_order).count() == 1
