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
def connection_reconnect_notify_task(connection_id: int) -> None:
    from apps.accounting.services.oauth import connection_reconnect_notify

    connection_reconnect_notify(connection_id=connection_id)
