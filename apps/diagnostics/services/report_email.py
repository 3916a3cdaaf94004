"""Emailing the diagnostic report to the customer, through comms (one email path for everything).

The PDF sent is the stored `DiagnosticReport`, so the copy on the work order is what the customer
received. Comms checks suppressions and consent, uses the business's From address and the
configured anymail backend, logs the email on the work order and customer, and sends at most once
per key: the caller's `client_id`, else the report and address.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.template.loader import render_to_string

from apps.comms.models import CommunicationLog
from apps.comms.services.consent import email_refusal
from apps.comms.services.email import EmailRefused, email_document_find, email_document_send
from apps.core.models import User, WorkOrder
from apps.diagnostics.models import DiagnosticReport
from apps.diagnostics.services.reports import report_generate, report_render_pdf

KIND = "diagnostic_report"


@dataclass(frozen=True)
class ReportEmail:
    log: CommunicationLog
    report: DiagnosticReport | None
    already_sent: bool


def _key(work_order: WorkOrder, report: DiagnosticReport | None, address: str, client_id) -> str:
    if client_id is not None:
        return f"diagnostics-report:wo{work_order.pk}:{client_id}"
    # Hashed: an address can be longer than the outbox key allows.
    digest = hashlib.sha256(address.lower().encode()).hexdigest()[:24]
    return f"diagnostics-report:{report.pk}:{digest}"


def _report_of(log: CommunicationLog) -> DiagnosticReport | None:
    report_id = log.metadata.get("report_id")
    return DiagnosticReport.objects.filter(business_id=log.business_id, pk=report_id).first()


def report_email(
    *,
    work_order: WorkOrder,
    by: User | None = None,
    to: str = "",
    report: DiagnosticReport | None = None,
    client_id: uuid.UUID | None = None,
) -> ReportEmail:
    """Email `report` (default: a report generated now) as a PDF to `to` or the customer.

    Raises `EmailRefused` (a DomainError) when there is no usable address, it is suppressed, or
    the customer has not agreed to email; nothing is generated or recorded then.
    """
    business = work_order.business
    if report is not None and (
        report.work_order_id != work_order.pk or report.business_id != business.pk
    ):
        raise ValueError("report of another work order")
    customer = work_order.customer
    address = (to or customer.email or "").strip()
    if client_id is not None or report is not None:
        key = _key(work_order, report, address, client_id)
        found = email_document_find(business=business, dedupe_key=key)
        if found is not None:
            return ReportEmail(log=found, report=_report_of(found), already_sent=True)
    _precheck(business=business, address=address, customer=customer)
    if report is None:
        report = report_generate(work_order=work_order, by=by)
    elif report.pdf is None:
        # Stored as HTML only so far: keep the PDF we send next to it.
        report.pdf = report_render_pdf(report.html)
        report.save(update_fields=["pdf", "updated_at"])
    context = {"wo": work_order, "business": business, "customer": customer, "report": report}
    log = email_document_send(
        business=business,
        dedupe_key=_key(work_order, report, address, client_id),
        subject=f"Diagnostic report for work order {work_order.number} - {business.name}",
        text=render_to_string("diagnostics/report_email.txt", context),
        html=render_to_string("diagnostics/report_email.html", context),
        attachments=[
            (f"diagnostics-{work_order.number}.pdf", bytes(report.pdf), "application/pdf")
        ],
        to=address,
        customer=customer,
        work_order=work_order,
        by=by,
        kind=KIND,
        metadata={"report_id": report.pk},
    )
    already = log.metadata.get("report_id") != report.pk
    return ReportEmail(log=log, report=_report_of(log) if already else report, already_sent=already)


def _precheck(*, business, address: str, customer) -> None:
    """Refuse before rendering a PDF that could not be sent (comms checks again when sending)."""
    if address:
        try:
            validate_email(address)
        except ValidationError:
            raise EmailRefused(f"{address} is not a valid email address.", field="to") from None
    refusal = email_refusal(business=business, email=address, customer=customer)
    if refusal:
        raise EmailRefused(f"Cannot email {address or customer}: {refusal}.", field="to")
