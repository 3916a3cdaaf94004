"""Reads other apps ask of the applied plans: a job's planned arrival, a technician's stops.

Comms uses these for the ETA in customer texts, the technician's route summary, and to tell a
change made by applying a plan (one summary text) from a change made by hand (one text per job).
"""

from __future__ import annotations

import datetime as dt

from apps.core.models import WorkOrder, WorkOrderStatus
from apps.routing.models import RoutePlan, RouteStop

S = WorkOrderStatus
REMAINING = (S.NEW, S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE)
APPLIED = RoutePlan.Status.APPLIED


def applied_stop_for(*, work_order: WorkOrder) -> RouteStop | None:
    """The work order's stop in an applied plan, if its current technician is the planned one.

    A job reassigned by hand since the plan was applied has no stop worth quoting.
    """
    if work_order.assigned_technician_id is None:
        return None
    return (
        RouteStop.objects.filter(
            business_id=work_order.business_id,
            work_order=work_order,
            technician_id=work_order.assigned_technician_id,
            plan__status=APPLIED,
        )
        .select_related("plan")
        .order_by("-plan__date", "-pk")
        .first()
    )


def technician_remaining_stops(*, plan: RoutePlan, technician_id: int) -> list[RouteStop]:
    """The technician's stops in the plan that are not done yet, in driving order."""
    return list(
        RouteStop.objects.filter(
            business_id=plan.business_id,
            plan=plan,
            technician_id=technician_id,
            work_order__status__in=REMAINING,
        )
        .select_related("work_order__location")
        .order_by("sequence")
    )


def plan_apply_covering(
    *, work_order_id: int, technician_id: int, occurred_at: dt.datetime
) -> RoutePlan | None:
    """The applied (or since superseded) plan whose apply made this assignment or window change.

    route_plan_apply writes assignments and windows between the draft's creation and the plan's
    last save (updated_at), all in one transaction; a change to one of its stops inside that
    interval was the plan's doing, and the plan's own event tells the technician about it.
    """
    return (
        RoutePlan.objects.filter(
            status__in=[APPLIED, RoutePlan.Status.SUPERSEDED],
            created_at__lte=occurred_at,
            updated_at__gte=occurred_at,
            stops__work_order_id=work_order_id,
            stops__technician_id=technician_id,
        )
        .order_by("-updated_at")
        .first()
    )
