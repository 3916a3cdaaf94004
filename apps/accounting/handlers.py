"""Domain-event subscribers: quick, they only enqueue a task with ids."""

from apps.core import events
from apps.core.models import WorkOrderStatus
from apps.payments.events import AgreementPaymentReceived

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


@events.subscribe(events.InvoiceChanged)
def on_invoice_changed(event: events.InvoiceChanged) -> None:
    from apps.accounting.tasks import invoice_change_accounting_task

    invoice_change_accounting_task.delay(event.invoice_id, event.change)


@events.subscribe(events.RefundRecorded)
def on_refund_recorded(event: events.RefundRecorded) -> None:
    if event.invoice_id is not None:  # a payment on no invoice never reached the books
        from apps.accounting.tasks import refund_accounting_task

        refund_accounting_task.delay(event.refund_id)


@events.subscribe(AgreementPaymentReceived)
def on_agreement_payment_received(event: AgreementPaymentReceived) -> None:
    from apps.accounting.tasks import agreement_payment_accounting_task

    agreement_payment_accounting_task.delay(event.period_id)
