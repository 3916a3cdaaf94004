"""Work order services besides the state machine: work_order_create, work_order_assign and
work_order_window_set (with its WorkOrderWindowChanged event)."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError
from apps.core.models import (
    Priority,
    WorkOrder,
    WorkOrderStatus,
)
from apps.core.services.work_orders import (
    work_order_assign,
    work_order_create,
    work_order_window_set,
)
from tests import factories as f

S = WorkOrderStatus


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


# --- work_order_window_set ---------------------------------------------------------------------


def test_window_change_publishes_event_after_commit(
    make_order, dispatcher, core_events, django_capture_on_commit_callbacks
):
    work_order = make_order(S.SCHEDULED)
    before = (work_order.arrival_window_start, work_order.arrival_window_end)
    start, end = _window(26)

    with django_capture_on_commit_callbacks(execute=True):
        work_order_window_set(
            work_order=work_order, arrival_window_start=start, arrival_window_end=end, by=dispatcher
        )
        assert core_events == []

    [event] = core_events
    assert isinstance(event, events.WorkOrderWindowChanged)
    assert (event.business_id, event.work_order_id) == (work_order.business_id, work_order.pk)
    assert (event.window_start, event.window_end) == (start, end)
    assert (event.previous_window_start, event.previous_window_end) == before
    assert event.changed_by_id == dispatcher.pk
    assert timezone.is_aware(event.occurred_at)
    stored = WorkOrder.objects.get(pk=work_order.pk)
    assert (stored.arrival_window_start, stored.arrival_window_end) == (start, end)
    assert (work_order.arrival_window_start, work_order.arrival_window_end) == (start, end)


def test_window_set_to_same_instant_publishes_nothing(
    make_order, core_events, django_capture_on_commit_callbacks
):
    work_order = make_order(S.SCHEDULED)
    start, end = _window(5)
    work_order_window_set(work_order=work_order, arrival_window_start=start, arrival_window_end=end)
    updated_at = WorkOrder.objects.get(pk=work_order.pk).updated_at
    denver = dt.timezone(dt.timedelta(hours=-7))

    with django_capture_on_commit_callbacks(execute=True):
        # The same instants written in another zone are no change.
        work_order_window_set(
            work_order=work_order,
            arrival_window_start=start.astimezone(denver),
            arrival_window_end=end.astimezone(denver),
        )

    assert core_events == []
    assert WorkOrder.objects.get(pk=work_order.pk).updated_at == updated_at


def test_window_set_rolled_back_publishes_nothing(
    make_order, core_events, django_capture_on_commit_callbacks
):
    work_order = make_order(S.SCHEDULED)
    before = work_order.arrival_window_start
    start, end = _window(30)

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ZeroDivisionError),
        transaction.atomic(),
    ):
        work_order_window_set(
            work_order=work_order, arrival_window_start=start, arrival_window_end=end
        )
        1 / 0  # noqa: B018

    assert callbacks == []
    assert core_events == []
    assert WorkOrder.objects.get(pk=work_order.pk).arrival_window_start == before


def test_window_cleared_only_when_allowed(
    make_order, core_events, django_capture_on_commit_callbacks
):
    work_order = make_order(S.NEW)
    with pytest.raises(DomainError, match="needs both a start and an end"):
        work_order_window_set(
            work_order=work_order, arrival_window_start=None, arrival_window_end=None
        )

    with django_capture_on_commit_callbacks(execute=True):
        work_order_window_set(
            work_order=work_order,
            arrival_window_start=None,
            arrival_window_end=None,
            allow_clear=True,
        )

    [event] = core_events
    assert (event.window_start, event.window_end) == (None, None)
    assert event.previous_window_start is not None
    assert WorkOrder.objects.get(pk=work_order.pk).arrival_window_start is None


@pytest.mark.parametrize("status", [S.COMPLETED, S.INVOICED, S.PAID, S.CANCELLED])
def test_window_refused_once_closed(make_order, core_events, status):
    work_order = make_order(status)
    start, end = _window()
    label = S(status).label.lower()
    with pytest.raises(DomainError, match=f"A work order that is {label} cannot get a new window"):
        work_order_window_set(
            work_order=work_order, arrival_window_start=start, arrival_window_end=end
        )


def test_window_refuses_bad_windows(make_order):
    work_order = make_order(S.NEW)
    start, end = _window()
    with pytest.raises(DomainError, match="must end after it starts") as caught:
        work_order_window_set(
            work_order=work_order, arrival_window_start=end, arrival_window_end=start
        )
    assert caught.value.field == "arrival_window_end"
    with pytest.raises(DomainError, match="must include a time zone"):
        work_order_window_set(
            work_order=work_order,
            arrival_window_start=start.replace(tzinfo=None),
            arrival_window_end=end,
        )
    with pytest.raises(DomainError, match="needs both a start and an end"):
        work_order_window_set(
            work_order=work_order, arrival_window_start=start, arrival_window_end=None
        )
