"""Work order services: the state machine (work_order_transition) with its guards, audit trail
and after-commit event, plus work_order_create and work_order_assign."""

import datetime as dt
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError, TransitionRefused
from apps.core.models import (
    ALLOWED_TRANSITIONS,
    Priority,
    Role,
    WorkOrder,
    WorkOrderStatus,
    WorkOrderStatusChange,
)
from apps.core.models.work_orders import TECHNICIAN_TRANSITIONS
from apps.core.services.work_orders import (
    work_order_assign,
    work_order_create,
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


@pytest.fixture
def make_order(business, technician):
    """A work order put straight into a status (setup only), assigned and with a window."""

    def make(status: str = S.NEW, **overrides) -> WorkOrder:
        values = {"location__customer__business": business, "assigned_technician": technician}
        values.update(overrides)
        work_order = f.WorkOrderFactory(**values)
        WorkOrder.objects.filter(pk=work_order.pk).update(status=status)
        work_order.refresh_from_db()
        return work_order

    return make


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


# --- work_order_create -------------------------------------------------------------------------


@pytest.fixture
def job_parts(business):
    """A customer, one of their locations and a category, all of `business`."""
    location = f.ServiceLocationFactory(customer__business=business)
    category = f.ServiceCategoryFactory(business=business, default_duration_minutes=120)
    return {"customer": location.customer, "location": location, "category": category}


def _window(hours_from_now: int = 2) -> tuple[dt.datetime, dt.datetime]:
    start = timezone.now().replace(microsecond=0) + dt.timedelta(hours=hours_from_now)
    return start, start + dt.timedelta(hours=2)


def test_create_numbers_per_business(business, other_business, job_parts):
    first = work_order_create(business=business, summary="No heat", **job_parts)
    second = work_order_create(business=business, summary="Leaking valve", **job_parts)
    location = f.ServiceLocationFactory(customer__business=other_business)
    elsewhere = work_order_create(
        business=other_business,
        customer=location.customer,
        location=location,
        category=f.ServiceCategoryFactory(business=other_business),
        summary="Breaker trips",
    )

    assert (first.number, second.number) == ("WO-000001", "WO-000002")
    assert elsewhere.number == "WO-000001"
    assert first.status == S.NEW
    assert first.estimated_duration_minutes == 120  # from the category


def test_create_keeps_given_window_and_duration(business, job_parts, technician):
    start, end = _window()
    work_order = work_order_create(
        business=business,
        summary="Annual tune-up",
        arrival_window_start=start,
        arrival_window_end=end,
        estimated_duration_minutes=45,
        assigned_technician=technician,
        **job_parts,
    )
    work_order.refresh_from_db()
    assert (work_order.arrival_window_start, work_order.arrival_window_end) == (start, end)
    assert work_order.estimated_duration_minutes == 45
    assert work_order.assigned_technician == technician


def test_create_refuses_location_of_another_customer(business, job_parts):
    job_parts["location"] = f.ServiceLocationFactory(customer__business=business)
    with pytest.raises(DomainError, match="belongs to a different customer") as caught:
        work_order_create(business=business, summary="No heat", **job_parts)
    assert caught.value.field == "location"
    assert not WorkOrder.objects.exists()


@pytest.mark.parametrize("foreign", ["customer", "location", "category", "assigned_technician"])
def test_create_refuses_objects_of_another_business(business, other_business, job_parts, foreign):
    theirs = f.ServiceLocationFactory(customer__business=other_business)
    replacements = {
        "customer": theirs.customer,
        "location": theirs,
        "category": f.ServiceCategoryFactory(business=other_business),
        "assigned_technician": f.TechnicianFactory(business=other_business),
    }
    job_parts[foreign] = replacements[foreign]

    with pytest.raises(DomainError, match="belongs to another business"):
        work_order_create(business=business, summary="No heat", **job_parts)

    assert not WorkOrder.objects.exists()
    business.refresh_from_db()
    assert business.work_order_sequence == 0  # no number burnt on a refusal


@pytest.mark.parametrize("naive", ["start", "end", "both"])
def test_create_refuses_naive_window(business, job_parts, naive):
    start, end = _window()
    if naive in ("start", "both"):
        start = timezone.make_naive(start)
    if naive in ("end", "both"):
        end = timezone.make_naive(end)
    with pytest.raises(DomainError, match="must include a time zone"):
        work_order_create(
            business=business,
            summary="No heat",
            arrival_window_start=start,
            arrival_window_end=end,
            **job_parts,
        )
    assert not WorkOrder.objects.exists()


@pytest.mark.parametrize("given", ["start", "end"])
def test_create_refuses_half_window(business, job_parts, given):
    start, end = _window()
    window = {"arrival_window_start": start} if given == "start" else {"arrival_window_end": end}
    with pytest.raises(DomainError, match="needs both a start and an end") as caught:
        work_order_create(business=business, summary="No heat", **window, **job_parts)
    assert caught.value.field == "arrival_window_end"
    assert not WorkOrder.objects.exists()


def test_create_refuses_window_ending_before_start(business, job_parts):
    start, end = _window()
    with pytest.raises(DomainError, match="must end after it starts"):
        work_order_create(
            business=business,
            summary="No heat",
            arrival_window_start=end,
            arrival_window_end=start,
            **job_parts,
        )


def test_create_emits_event_with_priority(
    business, job_parts, dispatcher, captured_events, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        work_order = work_order_create(
            business=business,
            summary="Water heater flooding the garage",
            priority=Priority.EMERGENCY,
            created_by=dispatcher,
            **job_parts,
        )
        assert captured_events == []

    [event] = captured_events
    assert isinstance(event, events.WorkOrderCreated)
    assert (event.business_id, event.work_order_id) == (business.pk, work_order.pk)
    assert event.priority == Priority.EMERGENCY
    assert event.created_by_id == dispatcher.pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_creates_get_distinct_numbers(business, job_parts):
    threads, per_thread = 6, 3
    barrier = threading.Barrier(threads)

    def create_some(_: int) -> list[str]:
        try:
            barrier.wait(timeout=10)
            return [
                work_order_create(business=business, summary="Rush", **job_parts).number
                for _ in range(per_thread)
            ]
        finally:
            connection.close()  # each thread has its own connection

    with ThreadPoolExecutor(max_workers=threads) as pool:
        numbers = [n for batch in pool.map(create_some, range(threads)) for n in batch]

    expected = [f"WO-{i:06d}" for i in range(1, threads * per_thread + 1)]
    assert sorted(numbers) == expected
    assert sorted(WorkOrder.objects.values_list("number", flat=True)) == expected


# --- work_order_assign -------------------------------------------------------------------------


def test_assign_emits_event_with_previous_technician(
    make_order,
    business,
    technician,
    dispatcher,
    captured_events,
    django_capture_on_commit_callbacks,
):
    work_order = make_order(S.NEW, assigned_technician=None)
    colleague = f.TechnicianFactory(business=business)

    with django_capture_on_commit_callbacks(execute=True):
        work_order_assign(work_order=work_order, technician=technician, by=dispatcher)
        work_order_assign(work_order=work_order, technician=colleague, by=dispatcher)

    assert WorkOrder.objects.get(pk=work_order.pk).assigned_technician == colleague
    assert work_order.assigned_technician == colleague
    assert all(isinstance(e, events.WorkOrderAssigned) for e in captured_events)
    assert [(e.technician_id, e.previous_technician_id) for e in captured_events] == [
        (technician.pk, None),
        (colleague.pk, technician.pk),
    ]


def test_assign_same_technician_again_is_silent(
    make_order, technician, dispatcher, django_capture_on_commit_callbacks
):
    work_order = make_order(S.SCHEDULED)
    with django_capture_on_commit_callbacks() as callbacks:
        work_order_assign(work_order=work_order, technician=technician, by=dispatcher)
    assert callbacks == []


def test_assign_refuses_inactive_technician(make_order, business, dispatcher):
    retired = f.TechnicianFactory(business=business, active=False)
    work_order = make_order(S.NEW, assigned_technician=None)
    with pytest.raises(DomainError, match="is not an active technician") as caught:
        work_order_assign(work_order=work_order, technician=retired, by=dispatcher)
    assert caught.value.field == "assigned_technician"
    assert WorkOrder.objects.get(pk=work_order.pk).assigned_technician is None


def test_assign_refuses_technician_of_another_business(make_order, other_business, dispatcher):
    outsider = f.TechnicianFactory(business=other_business)
    work_order = make_order(S.NEW, assigned_technician=None)
    with pytest.raises(DomainError, match="belongs to another business"):
        work_order_assign(work_order=work_order, technician=outsider, by=dispatcher)
    assert WorkOrder.objects.get(pk=work_order.pk).assigned_technician is None


@pytest.mark.parametrize("status", [S.DISPATCHED, S.EN_ROUTE, S.ON_SITE])
def test_unassigning_a_dispatched_order_refused(make_order, technician, dispatcher, status):
    work_order = make_order(status)
    with pytest.raises(DomainError, match="needs a technician; reschedule it first"):
        work_order_assign(work_order=work_order, technician=None, by=dispatcher)
    assert WorkOrder.objects.get(pk=work_order.pk).assigned_technician == technician


def test_unassigning_a_scheduled_order_allowed(
    make_order, technician, dispatcher, captured_events, django_capture_on_commit_callbacks
):
    work_order = make_order(S.SCHEDULED)
    with django_capture_on_commit_callbacks(execute=True):
        work_order_assign(work_order=work_order, technician=None, by=dispatcher)
    assert WorkOrder.objects.get(pk=work_order.pk).assigned_technician is None
    [event] = captured_events
    assert (event.technician_id, event.previous_technician_id) == (None, technician.pk)
