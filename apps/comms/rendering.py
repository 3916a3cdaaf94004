"""Filling templates from a work order (or invoice), with the built-in texts as defaults."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

from django.utils import timezone

from apps.comms import hooks
from apps.comms.models import CommsSettings, MessageTemplate, TemplateKind
from apps.comms.segments import SegmentInfo, normalise, segment_info

K = TemplateKind
DEFAULTS: dict[str, dict[str, str]] = {
    K.APPOINTMENT_CONFIRMATION: {
        "sms_body": "{business_name}: reminder, your visit is {date}, arriving {window}. "
        "Reply C to confirm. Reply STOP to opt out.",
        "email_subject": "Your appointment with {business_name} on {date}",
        "email_text": "Hi {customer_name},\n\nWe will arrive {date}, {window}, at {address}.\n"
        "Work order {work_order_number} is attached.\n\n{business_name} {business_phone}",
    },
    K.EN_ROUTE: {
        "sms_body": "{business_name}: {technician_name} is on the way, arriving in about {eta}. "
        "Track: {tracking_link}",
    },
    K.SERVICE_COMPLETE: {
        "sms_body": "{business_name}: your service is complete. Total {invoice_total}. "
        "How did we do? {survey_link}",
        "email_subject": "Service complete: {work_order_number}",
        "email_text": "Hi {customer_name},\n\nYour service is complete. Total {invoice_total}.\n"
        "Tell us how we did: {survey_link}",
    },
    K.EMERGENCY_RESPONSE: {
        "sms_body": "{business_name}: we got your emergency request. {technician_name} "
        "is assigned, ETA {eta}. Call {business_phone} anytime.",
    },
    K.PAYMENT_REMINDER: {
        "sms_body": "{business_name}: invoice {invoice_number} for {amount_due} was due "
        "{due_date}. Pay here: {payment_link}",
        "email_subject": "Invoice {invoice_number} is overdue",
        "email_text": "Hi {customer_name},\n\nInvoice {invoice_number} for {amount_due} was due "
        "{due_date}. Pay online: {payment_link}",
    },
    K.TECHNICIAN_DISPATCH: {
        "sms_body": "New job {work_order_number}: {summary} at {address}, {date} {window}. "
        "{job_link}",
    },
    # The three below are planned by comms' routing wiring (apps/comms/services/triggers.py).
    K.TECHNICIAN_ROUTE: {
        "sms_body": "Route update for {date}: {route}",
    },
    K.VISIT_UPDATED: {
        "sms_body": "{business_name}: update on your visit. {technician_name} will arrive "
        "{date}, {window}. Reply STOP to opt out.",
    },
    K.RUNNING_LATE: {
        "sms_body": "{business_name}: sorry, {technician_name} is running late for your "
        "{window} visit. New ETA about {eta}.",
    },
}


def placeholders_in(text: str) -> set[str]:
    """Names used as {name}; raises ValueError on a malformed brace."""
    names = set()
    for _literal, field, _spec, _conv in string.Formatter().parse(text or ""):
        if field is None:
            continue
        if not field.isidentifier():
            raise ValueError(f"{{{field}}} is not a variable name")
        names.add(field)
    return names


@dataclass(frozen=True)
class Rendered:
    sms_body: str
    email_subject: str
    email_text: str
    email_html: str
    segments: SegmentInfo


def template_for(business, kind: str) -> MessageTemplate:
    found = MessageTemplate.objects.filter(business=business, kind=kind, active=True).first()
    if found is not None:
        return found
    texts = DEFAULTS[kind]
    names = set()
    for text in texts.values():
        names |= placeholders_in(text)
    return MessageTemplate(business=business, kind=kind, variables=",".join(sorted(names)), **texts)


class _Strict(dict):
    def __missing__(self, key):  # a declared variable with no value renders empty, never raw
        return ""


def render(template: MessageTemplate, values: Mapping[str, str]) -> Rendered:
    allowed = _Strict({k: values.get(k, "") for k in template.declared})
    sms = normalise(template.sms_body.format_map(allowed)).strip()
    return Rendered(
        sms_body=sms,
        email_subject=template.email_subject.format_map(allowed),
        email_text=template.email_text.format_map(allowed),
        email_html=template.email_html.format_map(allowed),
        segments=segment_info(sms),
    )


def _money(amount, currency: str) -> str:
    return f"${amount:,.2f}" if currency == "USD" else f"{amount:,.2f} {currency}"


def context_for(
    *,
    work_order=None,
    invoice=None,
    eta_minutes: int | None = None,
    with_invoice: bool = True,
    cfg: CommsSettings | None = None,
) -> dict[str, str]:
    """Every available variable we can fill; the template picks the ones it declared.

    A batch passes the business's settings (`cfg`) so they are read once, not per message.
    """
    business = (work_order or invoice).business
    cfg = cfg or CommsSettings.for_business(business)
    values: dict[str, str] = {
        "business_name": business.name,
        "business_phone": str(business.main_phone or ""),
    }
    if work_order is not None:
        tz = work_order.location.timezone
        tech = work_order.assigned_technician
        values |= {
            "customer_name": work_order.customer.display_name,
            "technician_name": tech.user.get_full_name() if tech else "our technician",
            "work_order_number": work_order.number,
            "summary": work_order.summary,
            "address": work_order.location.address_one_line,
        }
        start, end = work_order.arrival_window_start, work_order.arrival_window_end
        if start:
            s = timezone.localtime(start, tz)
            values["date"] = s.strftime("%a %b %-d")
            values["window"] = s.strftime("%-I:%M %p")
            if end:
                values["window"] += "-" + timezone.localtime(end, tz).strftime("%-I:%M %p")
        from apps.routing.tracking import tracking_link  # our signed page unless one is configured

        values["tracking_link"] = tracking_link(work_order=work_order, url_format=cfg.tracking_url)
        values["survey_link"] = cfg.survey_url.format(work_order_number=work_order.number)
        values["job_link"] = cfg.job_url.format(work_order_number=work_order.number)
        # The technician's stops from routing: a few queries, so only run if a template uses it.
        values["route"] = hooks.LazyText(partial(hooks.route_summary, work_order))
        if with_invoice and invoice is None:
            invoice = work_order.invoices.order_by("-pk").first()
        if with_invoice and invoice is None:
            # Completion comes before invoicing: quote the job's lines until the invoice exists.
            total = sum((line.amount for line in work_order.lines.all()), Decimal("0"))
            values["invoice_total"] = _money(total, business.currency)
    if eta_minutes is not None:
        values["eta"] = f"{eta_minutes} min"
    if invoice is not None:
        values |= {
            "customer_name": invoice.customer.display_name,
            "invoice_number": invoice.number,
            "invoice_total": _money(invoice.total, invoice.currency),
            "amount_due": _money(invoice.total - invoice.amount_paid, invoice.currency),
            "due_date": invoice.due_date.strftime("%b %-d") if invoice.due_date else "",
            # Lazy: making a Stripe link is a vendor call, wasted on texts that do not show it.
            "payment_link": hooks.LazyText(partial(hooks.payment_link, invoice)),
        }
    return values
