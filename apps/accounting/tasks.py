"""Celery tasks: load by id, call one idempotent service (routed to the "sync" queue)."""

from celery import shared_task


@shared_task(acks_late=True)
def work_order_accounting_task(work_order_id: int) -> None:
    from apps.accounting.services.invoices import work_order_invoice_push

    work_order_invoice_push(work_order_id=work_order_id)


@shared_task(acks_late=True)
def payment_accounting_task(payment_id: int) -> None:
    from apps.accounting.services.payments import payment_push_request

    payment_push_request(payment_id=payment_id)


@shared_task(acks_late=True)
def invoice_change_accounting_task(invoice_id: int, change: str) -> None:
    from apps.accounting.services.invoice_changes import invoice_change_request

    invoice_change_request(invoice_id=invoice_id, change=change)


@shared_task(acks_late=True)
def refund_accounting_task(refund_id: int) -> None:
    from apps.accounting.services.refunds import refund_push_request

    refund_push_request(refund_id=refund_id)


@shared_task(acks_late=True)
def agreement_payment_accounting_task(period_id: int) -> None:
    from apps.accounting.services.agreements import agreement_payment_push_request

    agreement_payment_push_request(period_id=period_id)


@shared_task(acks_late=True)
def connection_reconnect_notify_task(connection_id: int) -> None:
    from apps.accounting.services.oauth import connection_reconnect_notify

    connection_reconnect_notify(connection_id=connection_id)
