"""Domain-event subscriptions. Each only enqueues a task after commit (events.py's contract)."""

from __future__ import annotations

from apps.core import events
from apps.routing.events import RoutePlanApplied, TechnicianEtasUpdated


@events.subscribe(events.WorkOrderCreated)
def on_work_order_created(event: events.WorkOrderCreated) -> None:
    if event.priority == "emergency":
        from apps.comms.tasks import emergency_plan_task

        emergency_plan_task.delay(event.work_order_id)


@events.subscribe(events.WorkOrderStatusChanged)
def on_status_changed(event: events.WorkOrderStatusChanged) -> None:
    from apps.comms.tasks import work_order_status_plan_task

    if event.to_status in ("scheduled", "en_route", "completed", "cancelled"):
        work_order_status_plan_task.delay(
            event.work_order_id, event.to_status, event.occurred_at.isoformat()
        )


@events.subscribe(events.WorkOrderAssigned)
def on_assigned(event: events.WorkOrderAssigned) -> None:
    if event.technician_id is not None:
        from apps.comms.tasks import technician_dispatch_plan_task

        technician_dispatch_plan_task.delay(
            event.work_order_id, event.technician_id, event.occurred_at.isoformat()
        )


@events.subscribe(events.WorkOrderWindowChanged)
def on_window_changed(event: events.WorkOrderWindowChanged) -> None:
    from apps.comms.tasks import work_order_window_changed_plan_task

    work_order_window_changed_plan_task.delay(event.work_order_id, event.occurred_at.isoformat())


@events.subscribe(events.WorkOrderLocationChanged)
def on_location_changed(event: events.WorkOrderLocationChanged) -> None:
    from apps.comms.tasks import work_order_location_changed_plan_task

    work_order_location_changed_plan_task.delay(event.work_order_id, event.occurred_at.isoformat())


@events.subscribe(RoutePlanApplied)
def on_route_plan_applied(event: RoutePlanApplied) -> None:
    from apps.comms.tasks import route_plan_applied_plan_task

    route_plan_applied_plan_task.delay(
        event.plan_id, list(event.technician_ids), list(event.work_order_ids)
    )


@events.subscribe(TechnicianEtasUpdated)
def on_etas_updated(event: TechnicianEtasUpdated) -> None:
    from apps.comms.tasks import technician_etas_plan_task

    technician_etas_plan_task.delay(event.plan_id, event.technician_id, list(event.work_order_ids))
