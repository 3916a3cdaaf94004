"""Email through django-anymail (whichever ESP settings name), and its tracking events."""

from __future__ import annotations

import structlog
from anymail.exceptions import AnymailError
from anymail.signals import AnymailTrackingEvent, tracking
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.dispatch import receiver
from django.template.loader import render_to_string
from django.utils import timezone

from apps.comms.models import (
    CommunicationLog,
    EmailSuppression,
    ScheduledMessage,
    TemplateKind,
)

logger = structlog.get_logger(__name__)
S = ScheduledMessage.Status


def work_order_pdf(work_order) -> bytes:
    from weasyprint import HTML

    html = render_to_string("comms/work_order.html", {"wo": work_order})
    return HTML(string=html).write_pdf()


def email_deliver(*, msg: ScheduledMessage, log: CommunicationLog, rendered, cfg) -> None:
    from apps.comms.services.sending import _finish, log_status_apply

    sender = cfg.email_from or settings.DEFAULT_FROM_EMAIL
    email = EmailMultiAlternatives(
        subject=rendered.email_subject,
        body=rendered.email_text or rendered.sms_body,
        from_email=sender,
        to=[log.recipient],
    )
    if rendered.email_html:
        email.attach_alternative(rendered.email_html, "text/html")
    if msg.kind == TemplateKind.APPOINTMENT_CONFIRMATION and msg.work_order is not None:
        email.attach(
            f"{msg.work_order.number}.pdf", work_order_pdf(msg.work_order), "application/pdf"
        )
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
        return
    status = getattr(email, "anymail_status", None)
    if status is not None and status.message_id is not None:
        log.provider_id = str(status.message_id)[:100]
    sent_status = next(iter(status.status)) if status is not None and status.status else "sent"
    log_status_apply(log, sent_status if sent_status in ("queued", "sent") else "sent", save=False)
    log.save()
    _finish(msg, S.SENT)


# Bounces that are permanent, and complaints, stop all further email to the address.
# ESP bounce types that are temporary (Postmark's names): the mailbox may work tomorrow.
SOFT_BOUNCES = {"SoftBounce", "Transient", "DnsError"}
SUPPRESS = {"bounced": "bounced", "complained": "complained", "rejected": "rejected"}


@receiver(tracking, dispatch_uid="comms_email_tracking")
def email_tracking_receive(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    email_tracking_apply(event=event, esp_name=esp_name)


@transaction.atomic
def email_tracking_apply(*, event: AnymailTrackingEvent, esp_name: str) -> None:
    from apps.comms.services.sending import log_status_apply

    log = None
    log_id = (event.metadata or {}).get("log_id")
    if event.message_id is not None and str(event.message_id):
        log = (
            CommunicationLog.objects.select_for_update()
            .filter(channel="email", provider_id=str(event.message_id))
            .first()
        )
    if log is None and log_id and str(log_id).isdigit():
        log = CommunicationLog.objects.select_for_update().filter(pk=int(log_id)).first()
    if log is None:
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
