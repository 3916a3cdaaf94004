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


@shared_task(acks_late=True)
def payment_alert_email_task(alert_id: int) -> None:
    """Email the business's office staff (dispatchers, managers, admins) one payment alert."""
    from apps.core.models import Role, User
    from apps.payments.models import PaymentAlert

    alert = PaymentAlert.objects.select_related("business", "invoice").filter(pk=alert_id).first()
    if alert is None:
        return
    recipients = sorted(
        User.objects.filter(
            business_id=alert.business_id,
            is_active=True,
            role__in=[Role.DISPATCHER, Role.MANAGER, Role.ADMIN],
        )
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        logger.warning("payment_alert_no_recipient", alert_id=alert.pk)
        return
    subject = f"Payment alert: {alert.get_kind_display()}"
    if alert.invoice is not None:
        subject += f" (invoice {alert.invoice.number})"
    send_mail(
        subject=subject,
        message=f"{alert.message}\n\nSee Payments > Payment alerts in the admin.",
        from_email=None,
        recipient_list=recipients,
    )


# One drain task never holds a worker longer than this; a backlog left over gets a fresh task.
DRAIN_BUDGET_S = 50.0


@shared_task(acks_late=True, ignore_result=True)
def stripe_inbox_drain_task() -> None:
    """Process pending Stripe webhook events (nudged by the endpoint; swept every minute)."""
    import time

    from apps.payments.webhooks.drain import drain_all

    started = time.monotonic()
    drain_all(time_budget_s=DRAIN_BUDGET_S)
    if time.monotonic() - started >= DRAIN_BUDGET_S:
        stripe_inbox_drain_task.apply_async(queue="urgent")
