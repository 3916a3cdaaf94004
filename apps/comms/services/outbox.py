"""Planning messages into the durable outbox (ScheduledMessage) and handing due ones to workers.

The unique dedupe key is the guarantee: an event delivered twice, a task redelivered, or two
workers racing all hit the same row, so each message is created once and sent at most once.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from apps.comms.models import Channel, ScheduledMessage, TemplateKind
from apps.comms.rendering import template_for

K = TemplateKind
CONFIRMATION_LEAD = dt.timedelta(hours=24)
PENDING = ScheduledMessage.Status.PENDING
# Kinds whose template may carry an email version, sent next to the text.
EMAIL_KINDS = {K.APPOINTMENT_CONFIRMATION, K.SERVICE_COMPLETE, K.PAYMENT_REMINDER}


REDISPATCH_AFTER = dt.timedelta(minutes=5)


def _enqueue_if_due(message: ScheduledMessage) -> None:
    from apps.comms.tasks import scheduled_message_send_task

    if message.due_at <= timezone.now() + dt.timedelta(seconds=1):
        ScheduledMessage.objects.filter(pk=message.pk).update(enqueued_at=timezone.now())
        transaction.on_commit(partial(scheduled_message_send_task.delay, message.pk))


def message_schedule(
    *,
    business,
    kind: str,
    audience: str,
    dedupe_key: str,
    due_at: dt.datetime,
    urgent: bool = False,
    work_order=None,
    invoice=None,
    technician=None,
    context: dict | None = None,
    with_email: bool = True,
) -> list[ScheduledMessage]:
    """Plan the text (and the email, where the template has one). Existing keys are left alone."""
    if timezone.is_naive(due_at):
        raise ValueError("due_at must be timezone-aware")
    channels = [Channel.SMS]
    if with_email and kind in EMAIL_KINDS and template_for(business, kind).email_subject:
        channels.append(Channel.EMAIL)
    planned = []
    for channel in channels:
        key = dedupe_key if channel == Channel.SMS else f"{dedupe_key}:email"
        try:
            with transaction.atomic():
                message = ScheduledMessage.objects.create(
                    business=business,
                    kind=kind,
                    audience=audience,
                    channel=channel,
                    dedupe_key=key,
                    due_at=due_at,
                    urgent=urgent,
                    work_order=work_order,
                    invoice=invoice,
                    technician=technician,
                    context=context or {},
                )
        except IntegrityError:
            continue  # planned before: never twice
        _enqueue_if_due(message)
        planned.append(message)
    return planned


def _window_key(work_order) -> str:
    start = work_order.arrival_window_start
    return start.astimezone(dt.UTC).strftime("%Y%m%dT%H%M") if start else "none"


def confirmation_key(work_order) -> str:
    """The confirmation's dedupe key for the work order's current window (its text row)."""
    return f"confirm:{work_order.pk}:{_window_key(work_order)}"


def confirmation_plan(*, work_order) -> list[ScheduledMessage]:
    """24 h before the window; a moved window cancels the old plan and makes a new one.

    Called when the job is scheduled and on core's WorkOrderWindowChanged (no polling).
    """
    start = work_order.arrival_window_start
    prefix = f"confirm:{work_order.pk}:"
    key = confirmation_key(work_order)
    stale = ScheduledMessage.objects.filter(dedupe_key__startswith=prefix, status=PENDING).exclude(
        dedupe_key__in=[key, key + ":email"]
    )
    stale.update(status=ScheduledMessage.Status.CANCELLED, reason="arrival window moved")
    if start is None or start <= timezone.now():
        return []
    due = max(start - CONFIRMATION_LEAD, timezone.now())
    # A window moved back to one planned before (or a job reopened for it) finds its old key
    # cancelled: revive that row, since a new one with the same key cannot be made.
    revived = list(
        ScheduledMessage.objects.filter(
            dedupe_key__in=[key, key + ":email"], status=ScheduledMessage.Status.CANCELLED
        )
    )
    for message in revived:
        message.status, message.due_at, message.reason, message.enqueued_at = PENDING, due, "", None
        message.save(update_fields=["status", "due_at", "reason", "enqueued_at", "updated_at"])
        _enqueue_if_due(message)
    return revived + message_schedule(
        business=work_order.business,
        kind=K.APPOINTMENT_CONFIRMATION,
        audience=ScheduledMessage.Audience.CUSTOMER,
        dedupe_key=key,
        due_at=due,
        work_order=work_order,
        context={"window_start": start.isoformat()},
    )


def work_order_messages_cancel(*, work_order, reason: str) -> int:
    return ScheduledMessage.objects.filter(
        work_order=work_order, status=PENDING, audience=ScheduledMessage.Audience.CUSTOMER
    ).update(status=ScheduledMessage.Status.CANCELLED, reason=reason[:300])


def due_messages_dispatch(*, limit: int = 5000) -> int:
    """Hand due pending messages to workers; the send re-checks everything under a row lock.

    Rows handed over in the last REDISPATCH_AFTER are skipped, so a backlog larger than one tick
    is not enqueued again and again; two racing ticks split the rows (SKIP LOCKED) instead of
    both enqueueing them. A task lost with its worker is re-enqueued once that time has passed.
    """
    from apps.comms.tasks import scheduled_message_send_task

    now = timezone.now()
    with transaction.atomic():
        qs = ScheduledMessage.objects.filter(status=PENDING, due_at__lte=now).filter(
            Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=now - REDISPATCH_AFTER)
        )
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.order_by("-urgent", "due_at").values_list("pk", flat=True)[:limit])
        ScheduledMessage.objects.filter(pk__in=ids).update(enqueued_at=now)
    for pk in ids:
        scheduled_message_send_task.delay(pk)
    return len(ids)
