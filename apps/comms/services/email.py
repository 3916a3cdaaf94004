"""Email through django-anymail (whichever ESP settings name), and its tracking events."""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from anymail.signals import AnymailTrackingEvent, tracking
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import timezone

from apps.comms.models import (
    Channel,
    CommsSettings,
    CommunicationLog,
    Direction,
    EmailSuppression,
    ScheduledMessage,
    TemplateKind,
)
from apps.comms.services.consent import email_refusal
from apps.core.errors import DomainError
from apps.core.timezones import format_window

logger = structlog.get_logger(__name__)
S = ScheduledMessage.Status


def work_order_html(work_order) -> str:
    """The confirmation attachment as HTML, in the customer's (the service location's) zone
    like the texts: it renders in a worker, where the active zone is UTC."""
    zone = work_order.location.timezone if work_order.location_id else work_order.business.timezone
    with timezone.override(zone):
        return render_to_string(
            "comms/work_order.html",
            {
                "wo": work_order,
                "window": format_window(
                    work_order.arrival_window_start, work_order.arrival_window_end
                ),
            },
        )


def work_order_pdf(work_order) -> bytes:
    from weasyprint import HTML

    return HTML(string=work_order_html(work_order)).write_pdf()


def email_deliver(*, msg: ScheduledMessage, log: CommunicationLog, rendered, cfg) -> None:
    attachments = []
    if msg.kind == TemplateKind.APPOINTMENT_CONFIRMATION and msg.work_order is not None:
        attachments.append(
            (f"{msg.work_order.number}.pdf", work_order_pdf(msg.work_order), "application/pdf")
        )
    _email_send(
        msg=msg,
        log=log,
        cfg=cfg,
        subject=rendered.email_subject,
        text=rendered.email_text or rendered.sms_body,
        html=rendered.email_html,
        attachments=attachments,
    )


def _email_send(
    *,
    msg: ScheduledMessage,
    log: CommunicationLog,
    cfg,
    subject: str,
    text: str,
    html: str,
    attachments: Sequence[tuple[str, bytes, str]],
) -> None:
    """The one delivery path for every email: the business's From, anymail, log and outbox row."""
    from apps.comms.services.sending import _finish, log_status_apply

    sender = cfg.email_from or settings.DEFAULT_FROM_EMAIL
    email = EmailMultiAlternatives(
        subject=subject, body=text, from_email=sender, to=[log.recipient]
    )
    if html:
        email.attach_alternative(html, "text/html")
    for filename, content, mimetype in attachments:
        email.attach(filename, content, mimetype)
    # Tracking webhooks find the log by the ESP's message id, else by this metadata.
    email.metadata = {"log_id": str(log.pk), "business_id": str(msg.business_id)}
    email.tags = [msg.kind]
    log.sender = sender
    try:
        email.send()
    except AnymailError as exc:
        log.error_message = str(exc)[:300]
        log_status_apply(log, "failed", save=False)
        log.save()
        _finish(msg, S.FAILED, str(exc))
        if isinstance(exc, AnymailRecipientsRefused):
            _suppress_rejected(msg.business_id, getattr(email, "anymail_status", None))
        return
    status = getattr(email, "anymail_status", None)
    if status is not None and status.message_id is not None:
        log.provider_id = str(status.message_id)[:100]
    sent_status = next(iter(status.status)) if status is not None and status.status else "sent"
    log_status_apply(log, sent_status if sent_status in ("queued", "sent") else "sent", save=False)
    log.save()
    _finish(msg, S.SENT)


def _suppress_rejected(business_id: int, status) -> None:
    """The ESP refused the address at send time (its own bounce/complaint list): stop here too."""
    recipients = getattr(status, "recipients", None) or {}
    for address, recipient in recipients.items():
        if recipient.status == "rejected":
            EmailSuppression.objects.get_or_create(
                business_id=business_id,
                email=address.lower(),
                defaults={"reason": "rejected", "detail": "refused by the ESP when sending"},
            )


# ESPs refuse larger messages (Postmark and SES: 10 MB including encoding overhead).
MAX_ATTACHMENT_BYTES = 7 * 1024 * 1024


def _document_key(business, dedupe_key: str) -> str:
    # Outbox keys are unique across businesses: the business id keeps callers' keys apart.
    return f"doc:{business.pk}:{dedupe_key}"


class EmailRefused(DomainError):
    """No address, not a valid address, suppressed, or the customer has not agreed to email."""

    code = "email_refused"


def email_document_find(*, business, dedupe_key: str) -> CommunicationLog | None:
    """The log of a document already sent (or being sent) under this key, if any."""
    msg = (
        ScheduledMessage.objects.filter(
            business=business, dedupe_key=_document_key(business, dedupe_key)
        )
        .select_related("log")
        .first()
    )
    return msg.log if msg is not None else None


def email_document_send(
    *,
    business,
    dedupe_key: str,
    subject: str,
    text: str,
    html: str = "",
    attachments: Sequence[tuple[str, bytes, str]] = (),
    to: str = "",
    customer=None,
    work_order=None,
    by=None,
    kind: str = "document",
    metadata: dict | None = None,
) -> CommunicationLog:
    """Email a document (a report, a PDF) to a customer, at most once per `dedupe_key`.

    The address is `to`, else the customer's (the work order's customer when none is given).
    Suppressions and the customer's email consent are checked first and refused with
    `EmailRefused` (nothing is recorded, so the same key may be used again once fixed). A key
    used before returns the earlier log without sending. Call it outside a transaction: the
    outbox row is committed as "sending" before the ESP is called, as for every comms email.
    `metadata` (ids of what was sent) is kept on the log.
    """
    if work_order is not None and work_order.business_id != business.pk:
        raise ValueError("work order of another business")
    if customer is None and work_order is not None:
        customer = work_order.customer
    if customer is not None and customer.business_id != business.pk:
        raise ValueError("customer of another business")
    if not dedupe_key or len(dedupe_key) > 180:
        raise ValueError("dedupe_key must be 1-180 characters")
    address = (to or (customer.email if customer is not None else "")).strip()
    if address:
        try:
            validate_email(address)
        except ValidationError:
            raise EmailRefused(f"{address} is not a valid email address.", field="to") from None
    existing = email_document_find(business=business, dedupe_key=dedupe_key)
    if existing is not None:
        return existing
    refusal = email_refusal(business=business, email=address, customer=customer)
    if refusal:
        raise EmailRefused(f"Cannot email {address or customer}: {refusal}.", field="to")
    attachments = list(attachments)
    if sum(len(content) for _, content, _ in attachments) > MAX_ATTACHMENT_BYTES:
        raise EmailRefused("The attachments are too large to email (over 7 MB).")
    try:
        with transaction.atomic():
            log = CommunicationLog.objects.create(
                business=business,
                channel=Channel.EMAIL,
                direction=Direction.OUTBOUND,
                template_kind=kind,
                recipient=address,
                subject=subject[:200],
                body=text,
                work_order=work_order,
                customer=customer,
                user=by,
                metadata={
                    **(metadata or {}),
                    "dedupe_key": _document_key(business, dedupe_key),
                    "attachments": [
                        {"filename": name, "bytes": len(content), "type": mimetype}
                        for name, content, mimetype in attachments
                    ],
                },
            )
            msg = ScheduledMessage.objects.create(
                business=business,
                kind=kind,
                audience=ScheduledMessage.Audience.CUSTOMER,
                channel=Channel.EMAIL,
                dedupe_key=_document_key(business, dedupe_key),
                due_at=timezone.now(),
                status=S.SENDING,  # never pending: the outbox dispatcher does not pick it up
                work_order=work_order,
                log=log,
            )
            log.metadata["scheduled_message_id"] = msg.pk
            log.save(update_fields=["metadata"])
    except IntegrityError:
        # A concurrent call with the same key won the race; its log is the answer.
        return email_document_find(business=business, dedupe_key=dedupe_key)
    _email_send(
        msg=msg,
        log=log,
        cfg=CommsSettings.for_business(business),
        subject=subject,
        text=text,
        html=html,
        attachments=attachments,
    )
    return log


# Bounces that are permanent, and complaints, stop all further email to the address.
# ESP bounce types that are temporary (Postmark's names): the mailbox may work tomorrow.
SOFT_BOUNCES = {"SoftBounce", "Transient", "DnsError"}
SUPPRESS = {"bounced": "bounced", "complained": "complained", "rejected": "rejected"}


class TrackingApplyError(Exception):
    """Our own failure applying a verified tracking event (apps.comms.webhooks lets it be a 500,
    so the ESP retries), as opposed to a malformed webhook (a 400)."""


@receiver(tracking, dispatch_uid="comms_email_tracking")
def email_tracking_receive(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    try:
        email_tracking_apply(event=event, esp_name=esp_name)
    except Exception as exc:
        raise TrackingApplyError(type(exc).__name__) from exc


def _tracked_log(event: AnymailTrackingEvent) -> CommunicationLog | None:
    """The email log row the event is about, within the business we sent it for.

    We send every email with metadata {log_id, business_id}; the ESP echoes it. The ESP's
    message id finds the row; the log id is a fallback only for a row of that business that has
    no other message id. Rows of another business, and texts or calls, are never touched.
    """
    metadata = event.metadata if isinstance(event.metadata, dict) else {}
    business_id = str(metadata.get("business_id") or "")
    log_id = str(metadata.get("log_id") or "")
    message_id = str(event.message_id or "")
    emails = CommunicationLog.objects.select_for_update().filter(channel=Channel.EMAIL)
    if business_id.isdigit():
        emails = emails.filter(business_id=int(business_id))
    if message_id:
        log = emails.filter(provider_id=message_id[:100]).first()
        if log is not None:
            return log
    if not (log_id.isdigit() and business_id.isdigit()):
        return None
    log = emails.filter(pk=int(log_id)).first()
    if log is not None and log.provider_id and log.provider_id != message_id[:100]:
        return None  # that row is another message's
    return log


@transaction.atomic
def email_tracking_apply(*, event: AnymailTrackingEvent, esp_name: str) -> None:
    from apps.comms.services.sending import log_status_apply

    log = _tracked_log(event)
    if log is None:
        log_id = str((event.metadata or {}).get("log_id") or "")
        if log_id.isdigit() and CommunicationLog.objects.filter(pk=int(log_id)).exists():
            # Names a row outside its business (or a text, or another message's row): refused.
            logger.warning(
                "email_tracking_refused", esp=esp_name, message_id=event.message_id, log_id=log_id
            )
        else:
            logger.info("email_tracking_unmatched", esp=esp_name, message_id=event.message_id)
        return
    event_key = f"{esp_name}:{event.event_type}:{event.event_id}:{event.timestamp}"
    seen = log.metadata.get("tracking_events", [])
    if event_key in seen:
        return  # the ESP redelivered it
    log.metadata = {**log.metadata, "tracking_events": [*seen, event_key][-50:]}
    log_status_apply(log, event.event_type, at=event.timestamp or timezone.now(), save=False)
    if event.event_type == "clicked" and event.click_url:
        log.metadata["last_click_url"] = event.click_url
    log.save()
    esp = event.esp_event if isinstance(event.esp_event, dict) else {}
    permanent = event.event_type != "bounced" or esp.get("Type") not in SOFT_BOUNCES
    if event.event_type in SUPPRESS and permanent and event.recipient:
        EmailSuppression.objects.get_or_create(
            business_id=log.business_id,
            email=event.recipient.lower(),
            defaults={
                "reason": SUPPRESS[event.event_type],
                "detail": (event.description or event.mta_response or "")[:300],
            },
        )
