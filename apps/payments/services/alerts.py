from __future__ import annotations

import structlog
from django.utils import timezone

from apps.core import events
from apps.core.models import Customer, Invoice
from apps.payments.events import PaymentAlertRaised
from apps.payments.models import PaymentAlert

logger = structlog.get_logger(__name__)


def payment_alert_raise(
    *,
    business_id: int,
    kind: str,
    message: str,
    dedupe_key: str,
    invoice: Invoice | None = None,
    customer: Customer | None = None,
) -> PaymentAlert:
    """Tell the dispatcher once per cause: a replayed webhook finds the alert and adds nothing."""
    alert, created = PaymentAlert.objects.get_or_create(
        dedupe_key=dedupe_key[:255],
        defaults={
            "business_id": business_id,
            "kind": kind,
            "message": message,
            "invoice": invoice,
            "customer": customer or (invoice.customer if invoice else None),
        },
    )
    if created:
        logger.warning(
            "payment_alert",
            business_id=business_id,
            kind=kind,
            alert_id=alert.pk,
            invoice_id=invoice.pk if invoice else None,
        )
        events.publish_on_commit(
            PaymentAlertRaised(
                business_id=business_id, alert_id=alert.pk, kind=kind, occurred_at=timezone.now()
            )
        )
    return alert


def payment_alert_acknowledge(*, alert: PaymentAlert, by) -> PaymentAlert:
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = timezone.now(), by
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
    return alert
