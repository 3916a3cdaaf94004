"""What each domain event plans: the table in issue 4, one function per row."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from apps.comms.models import CommsSettings, ScheduledMessage, TemplateKind
from apps.comms.services.outbox import (
    confirmation_plan,
    message_schedule,
    work_order_messages_cancel,
)
from apps.core.models import Invoice, Technician, WorkOrder

K, A = TemplateKind, ScheduledMessage.Audience
REMINDER_SPACING = dt.timedelta(days=7)


@transaction.atomic
def work_order_status_plan(*, work_order_id: int, to_status: str, occurred_at: str) -> list:
    wo = WorkOrder.objects.select_related("business").filter(pk=work_order_id).first()
    if wo is None:
        return []
    now = timezone.now()
    if to_status == "scheduled":
        return confirmation_plan(work_order=wo)
    if to_status == "cancelled":
        work_order_messages_cancel(work_order=wo, reason="work order cancelled")
        return []
    if to_status == "en_route":
        return message_schedule(
            business=wo.business,
            kind=K.EN_ROUTE,
            audience=A.CUSTOMER,
            dedupe_key=f"en_route:{wo.pk}:{occurred_at}",
            due_at=now,
            urgent=wo.priority == "emergency",
            work_order=wo,
        )
    if to_status == "completed":
        return message_schedule(
            business=wo.business,
            kind=K.SERVICE_COMPLETE,
            audience=A.CUSTOMER,
            dedupe_key=f"complete:{wo.pk}",
            due_at=now,
            work_order=wo,
        )
    return []


@transaction.atomic
def emergency_plan(*, work_order_id: int) -> list:
    wo = WorkOrder.objects.select_related("business").filter(pk=work_order_id).first()
    if wo is None:
        return []
    return message_schedule(
        business=wo.business,
        kind=K.EMERGENCY_RESPONSE,
        audience=A.CUSTOMER,
        dedupe_key=f"emergency:{wo.pk}",
        due_at=timezone.now(),
        urgent=True,
        work_order=wo,
    )


@transaction.atomic
def technician_dispatch_plan(*, work_order_id: int, technician_id: int, occurred_at: str) -> list:
    wo = WorkOrder.objects.select_related("business").filter(pk=work_order_id).first()
    tech = Technician.objects.filter(pk=technician_id).first()
    if wo is None or tech is None or tech.business_id != wo.business_id:
        return []
    return message_schedule(
        business=wo.business,
        kind=K.TECHNICIAN_DISPATCH,
        audience=A.TECHNICIAN,
        dedupe_key=f"dispatch:{wo.pk}:{tech.pk}:{occurred_at}",
        due_at=timezone.now(),
        urgent=wo.priority == "emergency",
        work_order=wo,
        technician=tech,
    )


def payment_reminders_plan(*, today: dt.date | None = None) -> int:
    """At most `max_payment_reminders` (2) per overdue invoice: the day after due, then weekly."""
    planned = 0
    overdue = Invoice.objects.filter(
        status__in=["open", "overdue"], due_date__isnull=False
    ).select_related("business")
    for invoice in overdue:
        local_today = today or timezone.localdate(timezone=invoice.business.timezone)
        if invoice.due_date >= local_today or invoice.total - invoice.amount_paid <= 0:
            continue
        cfg = CommsSettings.for_business(invoice.business)
        sent = list(
            ScheduledMessage.objects.filter(
                invoice=invoice, kind=K.PAYMENT_REMINDER, channel="sms"
            ).order_by("created_at")
        )
        if len(sent) >= cfg.max_payment_reminders:
            continue
        if sent and sent[-1].created_at > timezone.now() - REMINDER_SPACING:
            continue
        with transaction.atomic():
            planned += len(
                message_schedule(
                    business=invoice.business,
                    kind=K.PAYMENT_REMINDER,
                    audience=A.CUSTOMER,
                    dedupe_key=f"payment:{invoice.pk}:{len(sent) + 1}",
                    due_at=timezone.now(),
                    invoice=invoice,
                )
            )
    return planned
