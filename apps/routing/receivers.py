"""Work order events that change today's routes: enqueue a re-plan (handlers stay quick)."""

from __future__ import annotations

from apps.core import events
from apps.core.models import WorkOrder, WorkOrderStatus

S = WorkOrderStatus
# Moves that take a planned job off the road.
OFF_ROUTE = (S.CANCELLED, S.ON_HOLD)


@events.subscribe(events.WorkOrderCreated)
def replan_on_emergency(event: events.WorkOrderCreated) -> None:
    if event.priority != "emergency":
        return
    _request(event.work_order_id, "created", "Emergency", f"created:{event.work_order_id}")


@events.subscribe(events.WorkOrderStatusChanged)
def replan_on_cancellation(event: events.WorkOrderStatusChanged) -> None:
    if event.to_status not in OFF_ROUTE:
        return
    stamp = event.occurred_at.strftime("%Y%m%d%H%M%S%f")
    _request(
        event.work_order_id,
        "off_route",
        S(event.to_status).label,
        f"status:{event.work_order_id}:{event.to_status}:{stamp}",
    )


@events.subscribe(events.WorkOrderLocationChanged)
def replan_on_new_address(event: events.WorkOrderLocationChanged) -> None:
    # The planned stop is now somewhere else: its drive times, and everyone's after it, are stale.
    _request(
        event.work_order_id,
        "moved",
        "Address changed",
        f"location:{event.work_order_id}:{event.location_id}:{event.occurred_at:%Y%m%d%H%M%S%f}",
    )


def _request(work_order_id: int, kind: str, label: str, key: str) -> None:
    from apps.routing.services.replan import replan_needed_for, route_replan_request

    order = WorkOrder.objects.select_related("business").filter(pk=work_order_id).first()
    if order is None:
        return
    day = replan_needed_for(work_order=order, event=kind)
    if day is not None:
        route_replan_request(
            business=order.business, date=day, trigger=f"{label}: {order.number}", trigger_key=key
        )
