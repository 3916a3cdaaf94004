"""Celery tasks (routed to the `urgent` queue): load by id, call one idempotent service."""

from celery import shared_task


@shared_task(acks_late=True)
def scheduled_message_send_task(scheduled_message_id: int) -> None:
    """Sends this message; a pooled customer text also takes a batch of its hand-over with it."""
    from apps.comms.services.batch import hand_over_send

    hand_over_send(scheduled_message_id=scheduled_message_id)


@shared_task(acks_late=True)
def emergency_plan_task(work_order_id: int) -> None:
    from apps.comms.services.triggers import emergency_plan

    emergency_plan(work_order_id=work_order_id)


@shared_task(acks_late=True)
def work_order_status_plan_task(work_order_id: int, to_status: str, occurred_at: str) -> None:
    from apps.comms.services.triggers import work_order_status_plan

    work_order_status_plan(
        work_order_id=work_order_id, to_status=to_status, occurred_at=occurred_at
    )


@shared_task(acks_late=True)
def technician_dispatch_plan_task(work_order_id: int, technician_id: int, occurred_at: str) -> None:
    from apps.comms.services.triggers import technician_dispatch_plan

    technician_dispatch_plan(
        work_order_id=work_order_id, technician_id=technician_id, occurred_at=occurred_at
    )


@shared_task(acks_late=True)
def due_messages_dispatch_task() -> int:
    """Beat, every 30 s: hand due messages (confirmations, held texts, retries) to workers."""
    from apps.comms.services.outbox import due_messages_dispatch

    return due_messages_dispatch()


@shared_task(acks_late=True)
def payment_reminders_plan_task() -> int:
    """Beat, hourly: plan reminders for overdue invoices."""
    from apps.comms.services.triggers import payment_reminders_plan

    return payment_reminders_plan()


@shared_task(acks_late=True)
def work_order_window_changed_plan_task(work_order_id: int, occurred_at: str) -> None:
    from apps.comms.services.triggers import work_order_window_changed_plan

    work_order_window_changed_plan(work_order_id=work_order_id, occurred_at=occurred_at)


@shared_task(acks_late=True)
def route_plan_applied_plan_task(
    plan_id: int, technician_ids: list[int], work_order_ids: list[int]
) -> None:
    from apps.comms.services.triggers import route_plan_applied_plan

    route_plan_applied_plan(
        plan_id=plan_id, technician_ids=technician_ids, work_order_ids=work_order_ids
    )


@shared_task(acks_late=True)
def technician_etas_plan_task(plan_id: int, technician_id: int, work_order_ids: list[int]) -> None:
    from apps.comms.services.triggers import technician_etas_plan

    technician_etas_plan(
        plan_id=plan_id, technician_id=technician_id, work_order_ids=work_order_ids
    )


@shared_task(acks_late=True)
def work_order_location_changed_plan_task(work_order_id: int, occurred_at: str) -> None:
    from apps.comms.services.triggers import work_order_location_changed_plan

    work_order_location_changed_plan(work_order_id=work_order_id, occurred_at=occurred_at)
