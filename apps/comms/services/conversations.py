"""Staff replies and click-to-call from the admin."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from apps.comms.models import Channel, CommsSettings, CommunicationLog, Direction
from apps.comms.providers.twilio import twiml_connect_call
from apps.comms.segments import estimated_cost, normalise, segment_info
from apps.comms.services.consent import sms_refusal
from apps.comms.services.senders import sender_limiter, sender_pick
from apps.comms.services.sending import log_status_apply, status_callback_url
from apps.core.errors import DomainError
from apps.integrations.errors import ProviderError
from apps.integrations.providers import provider_for


def conversation_reply(*, customer, body: str, user) -> CommunicationLog:
    """A dispatcher's reply to a customer's thread, from the customer's usual number."""
    business = customer.business
    text = normalise(body).strip()
    if not text:
        raise DomainError("Write a message first.", field="body")
    phone = str(customer.phone or "")
    refusal = sms_refusal(business=business, phone=phone, customer=None)
    if refusal:
        raise DomainError(f"Cannot text {customer}: {refusal}.")
    info = segment_info(text)
    sender = sender_pick(business=business, kind="conversation", recipient=phone)
    log = CommunicationLog.objects.create(
        business=business,
        channel=Channel.SMS,
        direction=Direction.OUTBOUND,
        sender=str(sender.phone),
        recipient=phone,
        body=text,
        customer=customer,
        user=user,
        segments=info.segments,
        encoding=info.encoding,
    )
    CommunicationLog.objects.filter(
        business=business, customer=customer, direction=Direction.INBOUND, read_at__isnull=True
    ).update(read_at=timezone.now())
    try:
        with sender_limiter(sender).slot():
            result = provider_for(sender.connection).message_send(
                to=phone, from_=str(sender.phone), body=text, status_callback=status_callback_url()
            )
    except ProviderError as exc:
        log.error_code, log.error_message = exc.vendor_code[:10], str(exc)[:300]
        log_status_apply(log, "failed")
        raise DomainError(f"Twilio refused the text: {exc}") from exc
    log.provider_id = result.provider_id
    log.cost = estimated_cost(info, CommsSettings.for_business(business).sms_price_per_segment)
    log_status_apply(log, result.status, save=False)
    log.save()
    return log


def click_to_call(*, customer, user) -> CommunicationLog:
    """Ring the dispatcher's phone; when they answer, dial the customer (recorded)."""
    business = customer.business
    if not user.phone:
        raise DomainError("Add your phone number to your profile to place calls.")
    if not customer.phone:
        raise DomainError(f"{customer} has no phone number.")
    sender = sender_pick(business=business, kind="call", recipient=str(customer.phone))
    base = settings.PUBLIC_BASE_URL
    twiml = twiml_connect_call(
        greeting=f"Connecting you to {customer.display_name}.",
        dial_to=str(customer.phone),
        record=True,
        recording_callback=base + reverse("comms:twilio-voice-recording"),
    )
    log = CommunicationLog.objects.create(
        business=business,
        channel=Channel.VOICE,
        direction=Direction.OUTBOUND,
        sender=str(sender.phone),
        recipient=str(customer.phone),
        customer=customer,
        user=user,
        metadata={"bridged_via": str(user.phone)},
    )
    try:
        call = provider_for(sender.connection).call_create(
            to=str(user.phone),
            from_=str(sender.phone),
            twiml=twiml,
            status_callback=base + reverse("comms:twilio-voice-status"),
        )
    except ProviderError as exc:
        log.error_message = str(exc)[:300]
        log_status_apply(log, "failed")
        raise DomainError(f"Twilio refused the call: {exc}") from exc
    log.provider_id = call.provider_id
    log_status_apply(log, call.status, save=False)
    log.save()
    return log
