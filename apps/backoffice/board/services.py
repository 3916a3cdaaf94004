"""A move on the dispatch board, made of the same core services every other screen uses."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from apps.core.models import Technician, User, WorkOrder, WorkOrderStatus
from apps.core.services.work_orders import (
    work_order_assign,
    work_order_transition,
    work_order_window_set,
)

S = WorkOrderStatus
BOARD_NOTE = "Scheduled on the dispatch board"


@transaction.atomic
def work_order_board_move(
    *,
    work_order: WorkOrder,
    technician: Technician | None,
    arrival_window_start: dt.datetime | None,
    arrival_window_end: dt.datetime | None,
    by: User,
) -> WorkOrder:
    """Give the job a technician (or none) and, when a time is given, a new arrival window.

    All or nothing: if any step is refused (a closed job's window, a dispatched job left without
    a technician, an inactive technician) the DomainError propagates and nothing is saved, so no
    event is published and nobody is texted. A new job that now has both a technician and a
    window becomes Scheduled, recorded in its status history like any other move.
    """
    if arrival_window_start is not None:
        work_order_window_set(
            work_order=work_order,
            arrival_window_start=arrival_window_start,
            arrival_window_end=arrival_window_end,
            by=by,
        )
    work_order_assign(work_order=work_order, technician=technician, by=by)
    current = WorkOrder.objects.get(pk=work_order.pk)
    if current.status == S.NEW and current.assigned_technician_id and current.arrival_window_start:
        current = work_order_transition(
            work_order=current, to_status=S.SCHEDULED, by=by, note=BOARD_NOTE
        )
    return current
