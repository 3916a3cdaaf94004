"""Processing stored Twilio events (from the inbox, in a worker).

Status callbacks move the log monotonically; inbound texts update consent, confirm visits or join
the customer's conversation; call events land on the call's log entry.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.http import QueryDict
from django.utils import timezone

from apps.comms.models import (
    AppointmentConfirmation,
    Channel,
    CommunicationLog,
    ConsentStatus,
    Direction,
    TemplateKind,
)
from apps.comms.services.consent import classify_reply, consent_set
from apps.comms.services.sending import _apply_error_code, log_status_apply
from apps.core.models import Customer, WorkOrder
from apps.integrations.errors import EventRefused
from apps.integrations.inbox import register_handler
from apps.integrations.models import InboundEvent

RECORDING_FINAL = ("completed", "absent", "failed")
OPEN_STATUSES = ("new", "scheduled", "dispatched", "en_route", "on_site", "on_hold")


@register_handler("twilio")
def twilio_event_process(event: InboundEvent) -> None:
    params = QueryDict(event.body)
    handler = {
        "message.status": message_status_apply,
        "message.inbound": inbound_message_apply,
        "call.inbound": inbound_call_apply,
        "call.status": call_status_apply,
        "call.recording": call_recording_apply,
    }.get(event.event_type)
    if handler is None:
        raise ValueError(f"Unknown Twilio event type {event.event_type!r}")
    handler(params=params, business=event.connection.business, received_at=event.received_at)


def message_status_apply(*, params: QueryDict, business, received_at: dt.datetime) -> None:
    sid = params.get("MessageSid") or params.get("SmsSid", "")
    status = params.get("MessageStatus") or params.get("SmsStatus", "")
    code = params.get("ErrorCode", "")
    log = _log_for(business, Channel.SMS, sid, what="message")
    log_status_apply(log, status, at=received_at, error_code=code)
    if code:
        log.error_message = log.error_message or f"Twilio error {code}"
        log.save(update_fields=["error_message"])
        _apply_error_code(business, log.recipient, code, sid)


def _customer_for(business, phone: str) -> Customer | None:
    return Customer.objects.filter(business=business, phone=phone).order_by("-updated_at").first()


def inbound_message_apply(*, params: QueryDict, business, received_at: dt.datetime) -> None:
    sender, body, sid = params.get("From", ""), params.get("Body", ""), params.get("MessageSid", "")
    _refuse_foreign_sid(business, Channel.SMS, sid, what="message")
    customer = _customer_for(business, sender)
    work_order = None
    if customer is not None:
        work_order = (
            WorkOrder.objects.filter(customer=customer, status__in=OPEN_STATUSES)
            .order_by("arrival_window_start", "-created_at")
            .first()
        )
    kind = classify_reply(body)
    log = CommunicationLog.objects.create(
        business=business,
        channel=Channel.SMS,
        direction=Direction.INBOUND,
        sender=sender,
        recipient=params.get("To", ""),
        body=body,
        status="received",
        status_history=[{"status": "received", "at": received_at.isoformat()}],
        provider_id=sid,
        customer=customer,
        work_order=work_order,
        metadata={"classified": kind},
        # Keywords are handled automatically; only real messages wait for a dispatcher.
        read_at=None if kind == "message" else timezone.now(),
    )
    if kind in ("opt_out", "opt_in"):
        consent_set(
            business=business,
            phone=sender,
            status=ConsentStatus.OPTED_OUT if kind == "opt_out" else ConsentStatus.OPTED_IN,
            source="keyword",
            detail=body.strip()[:200],
            message_sid=sid,
            sender=params.get("To", ""),
        )
    elif kind == "help":
        from apps.comms.webhooks import help_text

        CommunicationLog.objects.create(
            business=business,
            channel=Channel.SMS,
            direction=Direction.OUTBOUND,
            sender=params.get("To", ""),
            recipient=sender,
            body=help_text(business),
            status="sent",
            customer=customer,
            metadata={"auto_reply": "help"},
        )
    elif kind == "confirm":
        _confirm(business, customer, log)


def _confirm(business, customer, log: CommunicationLog) -> None:
    """Confirm the visit the latest confirmation text asked about."""
    if customer is None:
        return
    asked = (
        CommunicationLog.objects.filter(
            business=business,
            customer=customer,
            direction=Direction.OUTBOUND,
            template_kind=TemplateKind.APPOINTMENT_CONFIRMATION,
            channel=Channel.SMS,
            work_order__status__in=OPEN_STATUSES,
        )
        .select_related("work_order")
        .order_by("-created_at")
        .first()
    )
    if asked is None:
        return
    try:
        with transaction.atomic():
            AppointmentConfirmation.objects.create(
                business=business,
                work_order=asked.work_order,
                window_start=asked.work_order.arrival_window_start,
                confirmed_at=timezone.now(),
                inbound_log=log,
            )
    except IntegrityError:
        pass  # confirmed already
    log.work_order = asked.work_order
    log.metadata = {**log.metadata, "confirmed_work_order": asked.work_order.number}
    log.save(update_fields=["work_order", "metadata"])


def inbound_call_apply(*, params: QueryDict, business, received_at: dt.datetime) -> None:
    caller = params.get("From", "")
    _refuse_foreign_sid(business, Channel.VOICE, params.get("CallSid", ""), what="call")
    customer = _customer_for(business, caller)
    CommunicationLog.objects.get_or_create(
        business=business,
        channel=Channel.VOICE,
        provider_id=params.get("CallSid", ""),
        defaults={
            "direction": Direction.INBOUND,
            "sender": caller,
            "recipient": params.get("To", ""),
            "status": params.get("CallStatus", "ringing"),
            "customer": customer,
            "status_history": [
                {"status": params.get("CallStatus", "ringing"), "at": received_at.isoformat()}
            ],
        },
    )


def _call_log(business, sid: str) -> CommunicationLog:
    return _log_for(business, Channel.VOICE, sid, what="call")


def _refuse_foreign_sid(business, channel: str, sid: str, *, what: str) -> None:
    """A new inbound SID that another business's log already holds is forged: refuse it."""
    taken = CommunicationLog.objects.filter(channel=channel, provider_id=sid)
    if sid and taken.exclude(business=business).exists():
        raise EventRefused(f"The {what} {sid} is not one of this account's; refused.")


def _log_for(business, channel: str, sid: str, *, what: str) -> CommunicationLog:
    """The business's log entry for a Twilio SID, locked. A SID that another business's log
    holds is refused (never applied, not retried); an unknown one may still be on its way."""
    if not sid:
        raise EventRefused(f"The callback names no {what} SID.")
    logs = CommunicationLog.objects.filter(channel=channel, provider_id=sid)
    log = logs.select_for_update().filter(business=business).first()
    if log is not None:
        return log
    if logs.exists():
        raise EventRefused(f"The {what} {sid} is not one of this account's; refused.")
    raise LookupError(f"No {what} {sid} in the log yet")  # replayable once the send lands


def call_status_apply(*, params: QueryDict, business, received_at: dt.datetime) -> None:
    log = _call_log(business, params.get("CallSid", ""))
    log_status_apply(log, params.get("CallStatus", ""), at=received_at)
    if params.get("CallDuration", "").isdigit():
        log.metadata = {**log.metadata, "duration_s": int(params["CallDuration"])}
        log.save(update_fields=["metadata"])


def call_recording_apply(*, params: QueryDict, business, received_at: dt.datetime) -> None:
    log = _call_log(business, params.get("CallSid", ""))
    sid, status = params.get("RecordingSid", ""), params.get("RecordingStatus", "")
    known = [r for r in log.metadata.get("recordings", []) if r.get("sid") == sid]
    if known and known[0].get("status") in RECORDING_FINAL and status not in RECORDING_FINAL:
        return  # a late "in-progress" after the recording finished (callbacks are unordered)
    recordings = [r for r in log.metadata.get("recordings", []) if r.get("sid") != sid]
    recordings.append(
        {
            "sid": params.get("RecordingSid", ""),
            "status": params.get("RecordingStatus", ""),
            "url": params.get("RecordingUrl", ""),
            "duration_s": params.get("RecordingDuration", ""),
        }
    )
    log.metadata = {**log.metadata, "recordings": recordings}
    log.save(update_fields=["metadata"])
