"""Writes on work orders. Status moves only through work_order_transition."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError, TransitionRefused
from apps.core.models import (
    ALLOWED_TRANSITIONS,
    Business,
    Customer,
    Priority,
    ServiceCategory,
    ServiceLocation,
    Technician,
    User,
    WorkOrder,
    WorkOrderStatus,
    WorkOrderStatusChange,
)
from apps.core.models.work_orders import LINE_EDITABLE_STATUSES, TECHNICIAN_TRANSITIONS

from .work_order_lines import work_order_line_add  # noqa: F401  (its home before it grew)

S = WorkOrderStatus


def _next_number(business: Business, field: str, prefix: str) -> str:
    # The UPDATE takes the business row's lock until commit, so concurrent creators are
    # serialised and each reads back its own value.
    Business.objects.filter(pk=business.pk).update(**{field: F(field) + 1})
    value = Business.objects.values_list(field, flat=True).get(pk=business.pk)
    return f"{prefix}-{value:06d}"


def _same_business(business: Business, *objects) -> None:
    for obj in objects:
        if obj is not None and obj.business_id != business.pk:
            raise DomainError(f"{obj._meta.verbose_name} {obj.pk} belongs to another business.")


@transaction.atomic
def work_order_create(
    *,
    business: Business,
    customer: Customer,
    location: ServiceLocation,
    category: ServiceCategory,
    summary: str,
    description: str = "",
    priority: str = Priority.NORMAL,
    arrival_window_start: dt.datetime | None = None,
    arrival_window_end: dt.datetime | None = None,
    estimated_duration_minutes: int | None = None,
    assigned_technician: Technician | None = None,
    created_by: User | None = None,
) -> WorkOrder:
    _same_business(business, customer, location, category, assigned_technician)
    if location.customer_id != customer.pk:
        raise DomainError("The service location belongs to a different customer.", field="location")
    _check_window(arrival_window_start, arrival_window_end)
    work_order = WorkOrder.objects.create(
        business=business,
        number=_next_number(business, "work_order_sequence", "WO"),
        customer=customer,
        location=location,
        category=category,
        summary=summary,
        description=description,
        priority=priority,
        arrival_window_start=arrival_window_start,
        arrival_window_end=arrival_window_end,
        estimated_duration_minutes=estimated_duration_minutes or category.default_duration_minutes,
        assigned_technician=assigned_technician,
    )
    events.publish_on_commit(
        events.WorkOrderCreated(
            business_id=business.pk,
            work_order_id=work_order.pk,
            priority=priority,
            created_by_id=created_by.pk if created_by else None,
            occurred_at=timezone.now(),
        )
    )
    return work_order


def _check_window(start: dt.datetime | None, end: dt.datetime | None) -> None:
    if (start is None) != (end is None):
        raise DomainError(
            "An arrival window needs both a start and an end.", field="arrival_window_end"
        )
    for value in (start, end):
        if value is not None and timezone.is_naive(value):
            raise DomainError(
                "Arrival window times must include a time zone.", field="arrival_window_start"
            )
    if start and end and end <= start:
        raise DomainError(
            "The arrival window must end after it starts.", field="arrival_window_end"
        )


def transition_moves_for(work_order: WorkOrder, by: User | None) -> list[str]:
    """The moves `by` may make from the work order's status: everything the state machine
    allows for the office, the field moves on their own job for a technician."""
    allowed = ALLOWED_TRANSITIONS[work_order.status]
    if by is None or by.is_superuser or by.is_office_staff:
        return sorted(allowed)
    technician = work_order.assigned_technician
    if technician is None or technician.user_id != by.pk:
        return []
    return sorted(allowed & TECHNICIAN_TRANSITIONS)


def _allowed_text(work_order: WorkOrder, by: User | None) -> str:
    # Only the moves this person may make: a technician is not told about office-only moves.
    moves = transition_moves_for(work_order, by)
    if moves:
        return f"Allowed next: {', '.join(moves)}."
    if not ALLOWED_TRANSITIONS[work_order.status]:
        return "Allowed next: none (final status)."
    return "There is no move you can make from here."


def _check_role(work_order: WorkOrder, to_status: str, by: User | None) -> None:
    if by is None or by.is_superuser or by.is_office_staff:
        return
    if work_order.assigned_technician_id is None or work_order.assigned_technician.user_id != by.pk:
        raise TransitionRefused("Only the assigned technician can move this work order.")
    if to_status not in TECHNICIAN_TRANSITIONS:
        raise TransitionRefused(
            f"Only the office can mark a work order {S(to_status).label.lower()}. "
            f"{_allowed_text(work_order, by)}"
        )


def _guard(work_order: WorkOrder, to_status: str, by: User | None) -> None:
    if to_status not in S.values:
        raise TransitionRefused(f"'{to_status}' is not a work order status.")
    current = work_order.status
    if to_status not in ALLOWED_TRANSITIONS[current]:
        raise TransitionRefused(
            f"A work order that is {S(current).label.lower()} cannot become "
            f"{S(to_status).label.lower()}. {_allowed_text(work_order, by)}"
        )
    _check_role(work_order, to_status, by)
    if to_status == S.SCHEDULED and not work_order.arrival_window_start:
        raise TransitionRefused("Set an arrival window before scheduling.")
    if to_status in (S.DISPATCHED, S.EN_ROUTE, S.ON_SITE) and not work_order.assigned_technician_id:
        raise TransitionRefused("Assign a technician before dispatching.")


@transaction.atomic
def work_order_transition(
    *,
    work_order: WorkOrder,
    to_status: str,
    by: User | None,
    note: str = "",
    allow_repeat: bool = False,
) -> WorkOrder:
    """Move a work order to a new status, record who did it, and publish the event after commit.

    The row is locked and re-read first, so two people moving the same order at once are
    serialised and the second sees the first's result. With `allow_repeat` (the API), asking
    for the status the order was just moved to is a retry (a double tap, an answer lost on a
    bad network): the order comes back as it is, with no second history row and no event,
    if this person may make that move at all.
    """
    # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the technician join,
    # and only the work order row needs the lock.
    locked = (
        WorkOrder.objects.select_for_update(of=("self",))
        .select_related("assigned_technician")
        .get(pk=work_order.pk)
    )
    repeat = allow_repeat and locked.status == to_status and to_status in S.values
    if repeat and locked.status_changes.exists():
        _check_role(locked, to_status, by)
        work_order.status, work_order.completed_at = locked.status, locked.completed_at
        return locked
    _guard(locked, to_status, by)
    from_status = locked.status
    locked.status = to_status
    update_fields = ["status", "updated_at"]
    if to_status == S.COMPLETED:
        locked.completed_at = timezone.now()
        update_fields.append("completed_at")
    locked.save(update_fields=update_fields)
    WorkOrderStatusChange.objects.create(
        business_id=locked.business_id,
        work_order=locked,
        from_status=from_status,
        to_status=to_status,
        changed_by=by,
        note=note[:500],
    )
    events.publish_on_commit(
        events.WorkOrderStatusChanged(
            business_id=locked.business_id,
            work_order_id=locked.pk,
            from_status=from_status,
            to_status=to_status,
            changed_by_id=by.pk if by else None,
            occurred_at=timezone.now(),
        )
    )
    work_order.status, work_order.completed_at = locked.status, locked.completed_at
    return locked


@transaction.atomic
def work_order_assign(
    *, work_order: WorkOrder, technician: Technician | None, by: User | None
) -> WorkOrder:
    locked = WorkOrder.objects.select_for_update().get(pk=work_order.pk)
    if technician is not None:
        _same_business(locked.business, technician)
        if not technician.active:
            raise DomainError(
                f"{technician} is not an active technician.", field="assigned_technician"
            )
    previous = locked.assigned_technician_id
    if previous == (technician.pk if technician else None):
        return locked
    if technician is None and locked.status in (S.DISPATCHED, S.EN_ROUTE, S.ON_SITE):
        raise DomainError("A dispatched work order needs a technician; reschedule it first.")
    locked.assigned_technician = technician
    locked.save(update_fields=["assigned_technician", "updated_at"])
    events.publish_on_commit(
        events.WorkOrderAssigned(
            business_id=locked.business_id,
            work_order_id=locked.pk,
            technician_id=technician.pk if technician else None,
            previous_technician_id=previous,
            occurred_at=timezone.now(),
        )
    )
    work_order.assigned_technician = technician
    return locked


@transaction.atomic
def work_order_window_set(
    *,
    work_order: WorkOrder,
    arrival_window_start: dt.datetime | None,
    arrival_window_end: dt.datetime | None,
    by: User | None = None,
    allow_clear: bool = False,
) -> WorkOrder:
    """Promise the customer a new arrival window (route planning, rescheduling, the office).

    Refused once the job is closed; the window must be aware and end after it starts. Both None
    clears the window, only with allow_clear (the office emptying the fields). Publishes
    WorkOrderWindowChanged only when the window really moves, so re-planning an unchanged route
    texts nobody.
    """
    locked = WorkOrder.objects.select_for_update().get(pk=work_order.pk)
    if locked.status not in LINE_EDITABLE_STATUSES:
        raise DomainError(
            f"A work order that is {S(locked.status).label.lower()} cannot get a new window."
        )
    clearing = allow_clear and arrival_window_start is None and arrival_window_end is None
    if not clearing and (arrival_window_start is None or arrival_window_end is None):
        raise DomainError(
            "An arrival window needs both a start and an end.", field="arrival_window_end"
        )
    _check_window(arrival_window_start, arrival_window_end)
    previous = (locked.arrival_window_start, locked.arrival_window_end)
    work_order.arrival_window_start = arrival_window_start
    work_order.arrival_window_end = arrival_window_end
    # Aware datetimes compare by instant, so the same moment given in another zone is no change.
    if previous == (arrival_window_start, arrival_window_end):
        return locked
    locked.arrival_window_start = arrival_window_start
    locked.arrival_window_end = arrival_window_end
    locked.save(update_fields=["arrival_window_start", "arrival_window_end", "updated_at"])
    events.publish_on_commit(
        events.WorkOrderWindowChanged(
            business_id=locked.business_id,
            work_order_id=locked.pk,
            window_start=arrival_window_start,
            window_end=arrival_window_end,
            previous_window_start=previous[0],
            previous_window_end=previous[1],
            changed_by_id=by.pk if by else None,
            occurred_at=timezone.now(),
        )
    )
    return locked


@transaction.atomic
def work_order_location_set(
    *, work_order: WorkOrder, location: ServiceLocation, by: User | None = None
) -> WorkOrder:
    """Send the job to another of the customer's service locations (the office fixing an address).

    Refused once the job is closed, for another business's location, and for a location of
    another customer. Publishes WorkOrderLocationChanged only on a real change, so the
    technician is re-texted the new address once.
    """
    locked = WorkOrder.objects.select_for_update().get(pk=work_order.pk)
    if locked.status not in LINE_EDITABLE_STATUSES:
        raise DomainError(
            f"A work order that is {S(locked.status).label.lower()} cannot change location.",
            field="location",
        )
    _same_business(locked.business, location)
    if location.customer_id != locked.customer_id:
        raise DomainError("The service location belongs to a different customer.", field="location")
    previous = locked.location_id
    work_order.location = location
    if previous == location.pk:
        return locked
    locked.location = location
    locked.save(update_fields=["location", "updated_at"])
    events.publish_on_commit(
        events.WorkOrderLocationChanged(
            business_id=locked.business_id,
            work_order_id=locked.pk,
            location_id=location.pk,
            previous_location_id=previous,
            changed_by_id=by.pk if by else None,
            occurred_at=timezone.now(),
        )
    )
    return locked
