"""Domain-event subscribers: quick, they only enqueue a task with ids."""

from apps.core import events
from apps.core.models import WorkOrderStatus

# Completed: push at once (invoicing it first if nobody has). Invoiced: the office invoiced it.
PUSH_ON = frozenset({WorkOrderStatus.COMPLETED, WorkOrderStatus.INVOICED})


@events.subscribe(events.WorkOrderStatusChanged)
def on_work_order_status_changed(event: events.WorkOrderStatusChanged) -> None:
    if event.to_status in PUSH_ON:
        from apps.accounting.tasks import work_order_accounting_task

        work_order_accounting_task.delay(event.work_order_id)


@events.subscribe(events.PaymentRecorded)
def on_payment_recorded(event: events.PaymentRecorded) -> None:
    from apps.accounting.tasks import payment_accounting_task

    payment_accounting_task.delay(event.payment_id)
