"""Consent: the per-phone opt-in/opt-out record that every send checks first."""

from __future__ import annotations

import re

from django.db import transaction
from django.utils import timezone

from apps.comms.models import ConsentEvent, ConsentRecord, ConsentStatus, EmailSuppression
from apps.core.models import Customer

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})
CONFIRM_REPLIES = frozenset({"C", "CONFIRM", "CONFIRMED"})
# The FCC treats any reasonable means as revocation, so plain-language requests count too.
_PLAIN_OPT_OUT = re.compile(
    r"^\s*(please\s+)?(no\s+more\s+(texts?|messages?|sms)|stop\s+(texting|messaging)(\s+me)?"
    r"|do\s*n[o']?t\s+text\s+me(\s+again)?|unsubscribe\s+me|remove\s+me(\s+from\s+(this|your)"
    r"\s+list)?)\s*(please)?[.!]*\s*$",
    re.IGNORECASE,
)


def classify_reply(body: str) -> str:
    """ "opt_out", "opt_in", "help", "confirm" or "message" for an inbound text."""
    word = re.sub(r"[^A-Za-z]", "", (body or "").strip()).upper()
    single = len((body or "").split()) == 1
    if single and word in OPT_OUT_KEYWORDS:
        return "opt_out"
    if _PLAIN_OPT_OUT.match(body or ""):
        return "opt_out"
    if single and word in OPT_IN_KEYWORDS:
        return "opt_in"
    if single and word in HELP_KEYWORDS:
        return "help"
    if single and word in CONFIRM_REPLIES:
        return "confirm"
    return "message"


@transaction.atomic
def consent_set(
    *,
    business,
    phone: str,
    status: str,
    source: str,
    detail: str = "",
    message_sid: str = "",
    sender: str = "",
) -> ConsentRecord:
    """Record an opt-in or opt-out for this phone across every number of the business."""
    record, _ = ConsentRecord.objects.select_for_update().get_or_create(
        business=business, phone=phone, defaults={"status": status}
    )
    record.status = status
    if status == ConsentStatus.OPTED_IN:
        record.undeliverable_code = ""
    record.save()
    # Keep the customer form's "agrees to texts" in step with what the customer told us.
    Customer.objects.filter(business=business, phone=phone).update(
        sms_opt_in=status == ConsentStatus.OPTED_IN, consent_updated_at=timezone.now()
    )
    ConsentEvent.objects.create(
        business=business,
        record=record,
        status=status,
        source=source,
        detail=detail[:200],
        message_sid=message_sid,
        sender=sender,
        occurred_at=timezone.now(),
    )
    return record


@transaction.atomic
def phone_mark_undeliverable(*, business, phone: str, code: str) -> ConsentRecord:
    record, _ = ConsentRecord.objects.select_for_update().get_or_create(
        business=business, phone=phone, defaults={"status": ConsentStatus.OPTED_IN}
    )
    record.undeliverable_code = code
    record.save(update_fields=["undeliverable_code", "updated_at"])
    return record


def sms_refusal(*, business, phone: str, customer=None) -> str:
    """Why we may not text this phone, or "" when we may. Checked right before every send."""
    if not phone:
        return "no mobile number on file"
    record = ConsentRecord.objects.filter(business=business, phone=phone).first()
    return sms_refusal_given(record=record, phone=phone, customer=customer)


def consent_records_for(*, business, phones) -> dict[str, ConsentRecord]:
    """The records of many phones in one query (a batch checks them all at once)."""
    records = ConsentRecord.objects.filter(business=business, phone__in=set(phones))
    return {str(r.phone): r for r in records}


def sms_refusal_given(*, record: ConsentRecord | None, phone: str, customer=None) -> str:
    """sms_refusal with the phone's record already loaded (None: there is none)."""
    if not phone:
        return "no mobile number on file"
    if record is not None:
        if record.status == ConsentStatus.OPTED_OUT:
            return "recipient opted out"
        if record.undeliverable_code:
            return f"number cannot receive texts (Twilio {record.undeliverable_code})"
        return ""
    if customer is not None and not customer.sms_opt_in:
        return "customer has not agreed to texts"
    return ""


def email_refusal(*, business, email: str, customer=None) -> str:
    if not email:
        return "no email address on file"
    if customer is not None and not customer.email_opt_in:
        return "customer has not agreed to email"
    hit = EmailSuppression.objects.filter(business=business, email__iexact=email).first()
    if hit is not None:
        return f"address suppressed ({hit.reason})"
    return ""
