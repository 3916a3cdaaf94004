"""Sending one planned message: consent, quiet hours, render, pace, call Twilio, record.

At most once: the row is marked "sending" and committed before the vendor is called, so a crash
or a redelivered task never sends it again (a stuck "sending" row is for a person to check).
Pooled customer texts handed over together go out in batches (services/batch.py), which reuse
the checks and the bookkeeping here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

import structlog
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.comms import hooks
from apps.comms.models import (
    Channel,
    CommsSettings,
    CommunicationLog,
    Direction,
    ScheduledMessage,
    TemplateKind,
)
from apps.comms.providers.base import OPTED_OUT, UNDELIVERABLE, RecipientRefused, retry_allowed
from apps.comms.rendering import context_for, render, template_for
from apps.comms.segments import estimated_cost
from apps.comms.services.consent import (
    consent_set,
    email_refusal,
    phone_mark_undeliverable,
    sms_refusal,
)
from apps.comms.services.quiet_hours import next_send_time
from apps.comms.services.senders import sender_paced, sender_pick
from apps.core.models import WorkOrderStatus
from apps.integrations.errors import ProviderError, RateLimited, TemporaryError
from apps.integrations.providers import provider_for

logger = structlog.get_logger(__name__)
K, S = TemplateKind, ScheduledMessage.Status
# Seconds Twilio may keep a text queued before dropping it (ValidityPeriod).
VALIDITY_S = {
    K.EMERGENCY_RESPONSE: 120,
    K.EN_ROUTE: 900,
    K.RUNNING_LATE: 900,
    K.TECHNICIAN_DISPATCH: 1800,
    K.TECHNICIAN_ROUTE: 1800,
}
MAX_TEMPORARY_ATTEMPTS = 3
# Work-order statuses in which each customer message still makes sense when it comes due.
STILL_RELEVANT = {
    K.APPOINTMENT_CONFIRMATION: {WorkOrderStatus.SCHEDULED, WorkOrderStatus.DISPATCHED},
    K.EN_ROUTE: {WorkOrderStatus.EN_ROUTE},
    K.VISIT_UPDATED: {WorkOrderStatus.SCHEDULED, WorkOrderStatus.DISPATCHED},
    # Late news is moot once the technician is there.
    K.RUNNING_LATE: {
        WorkOrderStatus.SCHEDULED,
        WorkOrderStatus.DISPATCHED,
        WorkOrderStatus.EN_ROUTE,
    },
}


@dataclasses.dataclass
class Prepared:
    recipient: str
    customer: object | None
    tz: object
    values: dict


@functools.cache
def _status_path() -> str:
    return reverse("comms:twilio-status")


def status_callback_url() -> str:
    return settings.PUBLIC_BASE_URL + _status_path()


def prepare(msg: ScheduledMessage, *, cfg: CommsSettings | None = None) -> Prepared | str:
    """The recipient and the values, or the reason to skip (a batch passes the settings)."""
    wo, invoice = msg.work_order, msg.invoice
    if wo is not None and wo.status == WorkOrderStatus.CANCELLED and msg.audience == "customer":
        return "work order cancelled"
    allowed = STILL_RELEVANT.get(msg.kind)
    if wo is not None and allowed and wo.status not in allowed:
        return f"work order is {wo.get_status_display().lower()}"
    if msg.kind == K.PAYMENT_REMINDER and invoice is not None:
        invoice.refresh_from_db()
        if invoice.total - invoice.amount_paid <= 0 or invoice.status in ("paid", "void"):
            return "invoice no longer due"
    if msg.audience == ScheduledMessage.Audience.TECHNICIAN:
        tech = msg.technician or (wo.assigned_technician if wo else None)
        if tech is None or (wo is not None and wo.assigned_technician_id != tech.pk):
            return "technician no longer assigned"
        recipient, customer, tz = str(tech.phone or ""), None, msg.business.timezone
    else:
        customer = wo.customer if wo else invoice.customer
        recipient = customer.email if msg.channel == Channel.EMAIL else str(customer.phone or "")
        location = wo.location if wo else customer.locations.first()
        tz = location.timezone if location else msg.business.timezone
    eta = msg.context.get("eta_minutes")
    if eta is None and wo is not None and msg.kind in (K.EN_ROUTE, K.EMERGENCY_RESPONSE):
        eta = hooks.eta_minutes(wo)
    values = context_for(
        work_order=wo,
        invoice=invoice,
        eta_minutes=eta,
        with_invoice=msg.kind in (K.SERVICE_COMPLETE, K.PAYMENT_REMINDER),
        cfg=cfg,
    )
    return Prepared(recipient=recipient, customer=customer, tz=tz, values=values)


def finish(msg: ScheduledMessage, status: str, reason: str = "") -> ScheduledMessage:
    msg.status, msg.reason, msg.processed_at = status, reason[:300], timezone.now()
    msg.save(update_fields=["status", "reason", "processed_at", "log", "due_at", "updated_at"])
    return msg


_finish = finish  # the name services/email.py imports


def scheduled_message_send(*, scheduled_message_id: int) -> ScheduledMessage:
    with transaction.atomic():
        msg = (
            ScheduledMessage.objects.select_for_update(of=("self",))
            .select_related(
                "business",
                "work_order__customer",
                "work_order__location",
                "work_order__assigned_technician__user",
                "invoice__customer",
                "technician",
            )
            .get(pk=scheduled_message_id)
        )
        if msg.status != S.PENDING or msg.due_at > timezone.now() + dt.timedelta(seconds=1):
            return msg
        prepared = prepare(msg)
        if isinstance(prepared, str):
            return finish(msg, S.SKIPPED, prepared)
        business = msg.business
        if msg.channel == Channel.EMAIL:
            refusal = email_refusal(
                business=business, email=prepared.recipient, customer=prepared.customer
            )
        else:
            refusal = sms_refusal(
                business=business, phone=prepared.recipient, customer=prepared.customer
            )
        if refusal:
            return finish(msg, S.SKIPPED, refusal)
        cfg = CommsSettings.for_business(business)
        if msg.channel == Channel.SMS and not msg.urgent:
            opens = next_send_time(
                now=timezone.now(),
                tz=prepared.tz,
                start=cfg.send_window_start,
                end=cfg.send_window_end,
            )
            if opens is not None:
                msg.due_at, msg.reason, msg.enqueued_at = opens, "held for quiet hours", None
                msg.save(update_fields=["due_at", "reason", "enqueued_at", "updated_at"])
                return msg
        rendered = render(template_for(business, msg.kind), prepared.values)
        log = CommunicationLog.objects.create(
            business=business,
            channel=msg.channel,
            direction=Direction.OUTBOUND,
            template_kind=msg.kind,
            recipient=prepared.recipient,
            subject=rendered.email_subject if msg.channel == Channel.EMAIL else "",
            body=rendered.email_text if msg.channel == Channel.EMAIL else rendered.sms_body,
            work_order=msg.work_order,
            customer=prepared.customer,
            metadata={"scheduled_message_id": msg.pk, "dedupe_key": msg.dedupe_key},
        )
        msg.log, msg.status = log, S.SENDING
        msg.save(update_fields=["log", "status", "updated_at"])
    if msg.channel == Channel.EMAIL:
        from apps.comms.services.email import email_deliver

        email_deliver(msg=msg, log=log, rendered=rendered, cfg=cfg)
        return msg
    return _deliver_sms(msg, log, rendered, cfg)


def _deliver_sms(msg, log, rendered, cfg) -> ScheduledMessage:
    business = msg.business
    try:
        sender = sender_pick(
            business=business, kind=msg.kind, recipient=log.recipient, technician=msg.technician
        )
        log.sender = str(sender.phone)
        with sender_paced(sender, segments=rendered.segments.segments):
            result = provider_for(sender.connection).message_send(
                to=log.recipient,
                from_=str(sender.phone),
                body=rendered.sms_body,
                status_callback=status_callback_url(),
                validity_period_s=VALIDITY_S.get(msg.kind),
            )
    except ProviderError as exc:  # refused, rate limited, temporary, not configured...
        return delivery_failed(msg, log, exc)
    sent_apply(log, result, rendered, cfg)
    log.save()
    return finish(msg, S.SENT)


def delivery_failed(
    msg: ScheduledMessage, log: CommunicationLog, exc: Exception
) -> ScheduledMessage:
    """Record a failed send and decide: give up, or back to pending for the next beat tick."""
    _record_failure(log, exc)
    if isinstance(exc, RecipientRefused):
        _apply_error_code(msg.business, log.recipient, exc.vendor_code, log.provider_id)
        return finish(msg, S.FAILED, str(exc))
    if isinstance(exc, RateLimited | TemporaryError):
        attempts = msg.context.get("attempts", 0) + 1
        if attempts >= MAX_TEMPORARY_ATTEMPTS:
            return finish(msg, S.FAILED, str(exc))
        msg.context["attempts"] = attempts
        msg.due_at = timezone.now() + dt.timedelta(seconds=getattr(exc, "retry_after", 0) or 30)
        msg.enqueued_at = None  # the next beat tick after due_at retries it
        msg.save(update_fields=["context", "enqueued_at"])
        return finish(msg, S.PENDING, f"retrying: {exc}")
    return finish(msg, S.FAILED, str(exc))


def sent_apply(log: CommunicationLog, result, rendered, cfg) -> None:
    """Fill the log from Twilio's answer (not saved: a batch saves many at once)."""
    segments = result.segments or rendered.segments.segments
    log.provider_id, log.segments, log.encoding = (
        result.provider_id,
        segments,
        rendered.segments.encoding,
    )
    log.cost = (
        result.price
        if result.price is not None
        else estimated_cost(
            dataclasses.replace(rendered.segments, segments=segments), cfg.sms_price_per_segment
        )
    )
    log.cost_is_estimate = result.price is None
    log_status_apply(log, result.status, save=False)


def _record_failure(log: CommunicationLog, exc: Exception) -> None:
    log.error_code = getattr(exc, "vendor_code", "")[:10]
    log.error_message = str(exc)[:300]
    log_status_apply(log, "failed", save=False)
    log.save()


def _apply_error_code(business, phone: str, code: str, sid: str = "") -> None:
    """What a Twilio failure code means for the number (never just retried)."""
    if code in OPTED_OUT:
        consent_set(
            business=business,
            phone=phone,
            status="opted_out",
            source="error",
            detail=code,
            message_sid=sid,
        )
    elif code in UNDELIVERABLE:
        phone_mark_undeliverable(business=business, phone=phone, code=code)
    elif code and not retry_allowed(code):
        logger.warning("sms_filtered", business_id=business.pk, code=code)


def log_status_apply(
    log: CommunicationLog,
    status: str,
    *,
    at: dt.datetime | None = None,
    save: bool = True,
    error_code: str = "",
) -> bool:
    """Append to the history; move the current status only upward (callbacks arrive unordered)."""
    from apps.comms.models import STATUS_RANK

    when = (at or timezone.now()).isoformat()
    log.status_history = [*log.status_history, {"status": status, "at": when}]
    moved = STATUS_RANK.get(status, 0) > STATUS_RANK.get(log.status, 0)
    if moved:
        log.status = status
    if error_code and not log.error_code:
        log.error_code = error_code[:10]
    if save:
        log.save(update_fields=["status", "status_history", "error_code", "updated_at"])
    return moved
