"""Celery tasks: load by id, call one idempotent service."""

from __future__ import annotations

import structlog
from celery import shared_task
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from apps.integrations.errors import RateLimited, TemporaryError

logger = structlog.get_logger(__name__)


@shared_task(bind=True, acks_late=True, max_retries=8)
def payment_link_deactivate_task(self, link_id: int) -> None:
    from apps.payments.models import PaymentLink
    from apps.payments.services.links import payment_link_deactivate

    link = PaymentLink.objects.filter(pk=link_id, active=True).first()
    if link is None:
        return
    try:
        payment_link_deactivate(link=link)
    except RateLimited as exc:
        raise self.retry(exc=exc, countdown=max(1, int(exc.retry_after or 5))) from exc
    except TemporaryError as exc:
        raise self.retry(exc=exc, countdown=min(600, 15 * 2**self.request.retries)) from exc


@shared_task(acks_late=True)
def payment_receipt_send_task(intent_id: int) -> None:
    """Email the customer a receipt once (receipt_sent_at is the guard)."""
    from apps.payments.models import StripePaymentIntent

    with transaction.atomic():
        record = (
            StripePaymentIntent.objects.select_for_update()
            .select_related("customer", "invoice", "business", "payment")
            .filter(pk=intent_id, receipt_sent_at__isnull=True, payment__isnull=False)
            .first()
        )
        if record is None or not record.customer.email:
            return
        invoice, payment = record.invoice, record.payment
        send_mail(
            subject=f"Receipt from {record.business.name}: invoice {invoice.number}",
            message=(
                f"Thank you, {record.customer.display_name}.\n\n"
                f"We received {payment.amount} {payment.currency} for invoice {invoice.number} "
                f"on {timezone.localtime(payment.received_at, record.business.timezone):%Y-%m-%d}.\n"
                f"Balance remaining: {invoice.balance_due} {invoice.currency}.\n"
                f"Reference: {record.stripe_id}\n\n{record.business.name}"
            ),
            from_email=None,
            recipient_list=[record.customer.email],
        )
        record.receipt_sent_at = timezone.now()
        record.save(update_fields=["receipt_sent_at", "updated_at"])
