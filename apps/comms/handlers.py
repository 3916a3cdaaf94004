"""Domain-event subscriptions. Each only enqueues a task after commit (events.py's contract)."""

from __future__ import annotations

from apps.core import events


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
