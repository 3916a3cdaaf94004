"""Xero's SDK models <-> the accounting dataclasses, and Xero's errors -> the error tree."""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal

import phonenumbers
import urllib3
from xero_python.accounting import models as xm
from xero_python.exceptions import ApiException, HTTPStatusException
from xero_python.exceptions.http_status_exceptions import RateLimitException

from apps.accounting.providers.base import (
    Account,
    CustomerFields,
    DuplicateDocument,
    DuplicateName,
    InvalidGrant,
    InvoiceDraft,
    ItemDraft,
    RemoteCustomer,
    RemoteInvoice,
    RemoteItem,
    RemotePayment,
    TokenSet,
)
from apps.integrations.errors import ProviderError, RateLimited, RejectedError, TemporaryError
from apps.integrations.http import error_for_status, parse_retry_after

CENT = Decimal("0.01")


def refusal_words(exc: HTTPStatusException) -> str:
    try:
        data = exc.error_data if hasattr(exc, "error_data") else {}
    except ValueError:
        data = {}
    errors = []
    for element in (data or {}).get("Elements", []) or []:
        errors += [e.get("Message", "") for e in element.get("ValidationErrors", []) or []]
    detail = (
        "; ".join(e for e in errors if e) or (data or {}).get("Message", "") or exc.reason or ""
    )
    return f"Xero refused it: {detail}".strip()


def map_error(exc: BaseException) -> ProviderError | None:
    if isinstance(exc, RateLimitException):
        headers = exc.headers or {}
        problem = headers.get("x-rate-limit-problem", "") or headers.get("X-Rate-Limit-Problem", "")
        wait = parse_retry_after(headers.get("Retry-After") or headers.get("retry-after"))
        return RateLimited(
            f"Xero's {problem or 'rate'} limit was reached",
            retry_after=wait,
            status_code=429,
            vendor_code=problem,
        )
    if isinstance(exc, HTTPStatusException):
        text = str(exc.body or "")
        if exc.status == 400 and "invalid_grant" in text:
            return InvalidGrant(
                "Xero no longer accepts the saved sign-in (invalid_grant). Reconnect Xero.",
                status_code=400,
                vendor_code="invalid_grant",
            )
        message = (
            refusal_words(exc) if exc.status == 400 else f"Xero answered {exc.status}: {text[:200]}"
        )
        if exc.status == 400 and "must be unique" in message.lower():
            leaf = DuplicateName if "contact name" in message.lower() else DuplicateDocument
            return leaf(message, status_code=400)
        return error_for_status(exc.status, message)
    if isinstance(exc, urllib3.exceptions.HTTPError | TimeoutError | ConnectionError):
        return TemporaryError(f"Could not reach Xero ({type(exc).__name__})")
    if isinstance(exc, ApiException):
        return TemporaryError(f"Xero call failed: {exc.reason}")
    return None


def phone(contact: xm.Contact) -> str:
    for phone in contact.phones or []:
        if str(phone.phone_type) in ("PhoneType.DEFAULT", "DEFAULT") and phone.phone_number:
            parts = [
                phone.phone_country_code or "",
                phone.phone_area_code or "",
                phone.phone_number,
            ]
            digits = "".join(parts)
            return f"+{digits}" if phone.phone_country_code else digits
    return ""


def customer(contact: xm.Contact) -> RemoteCustomer:
    address = next((a for a in contact.addresses or [] if "POBOX" in str(a.address_type)), None)
    updated = contact.updated_date_utc
    return RemoteCustomer(
        remote_id=str(contact.contact_id),
        version=updated.isoformat() if updated else "",
        fields=CustomerFields(
            display_name=contact.name or "",
            email=contact.email_address or "",
            phone=phone(contact),
            address_line1=(address.address_line1 if address else "") or "",
            address_line2=(address.address_line2 if address else "") or "",
            city=(address.city if address else "") or "",
            region=(address.region if address else "") or "",
            postal_code=(address.postal_code if address else "") or "",
            country=(address.country if address else "") or "",
        ),
        updated_at=updated,
        active="ARCHIVED" not in str(contact.contact_status),
    )


def contact(fields: CustomerFields, contact_id: str | None = None) -> xm.Contact:
    phones = []
    if fields.phone:
        try:
            parsed = phonenumbers.parse(fields.phone, None)
            phones = [
                xm.Phone(
                    phone_type="DEFAULT",
                    phone_country_code=str(parsed.country_code),
                    phone_number=str(parsed.national_number),
                )
            ]
        except phonenumbers.NumberParseException:
            phones = [xm.Phone(phone_type="DEFAULT", phone_number=fields.phone)]
    return xm.Contact(
        contact_id=contact_id,
        name=fields.display_name[:255],
        email_address=fields.email or None,
        phones=phones or None,
        addresses=[
            xm.Address(
                address_type="POBOX",
                address_line1=fields.address_line1,
                address_line2=fields.address_line2,
                city=fields.city,
                region=fields.region,
                postal_code=fields.postal_code,
                country=fields.country,
            )
        ],
    )


def currency(code: str):
    try:
        return xm.CurrencyCode(code)  # the SDK serialises only its enum here
    except ValueError:
        return None


def item(item: xm.Item) -> RemoteItem:
    sales = item.sales_details
    return RemoteItem(
        remote_id=str(item.item_id),
        version=item.updated_date_utc.isoformat() if item.updated_date_utc else "",
        name=item.name or "",
        kind="inventory" if item.is_tracked_as_inventory else "service",
        income_account_id=(sales.account_code if sales else "") or "",
        unit_price=Decimal(str(sales.unit_price))
        if sales and sales.unit_price is not None
        else Decimal(0),
        updated_at=item.updated_date_utc,
    )


def invoice(invoice: xm.Invoice) -> RemoteInvoice:
    status = str(invoice.status).rsplit(".", 1)[-1].upper()
    updated = invoice.updated_date_utc
    return RemoteInvoice(
        remote_id=str(invoice.invoice_id),
        version=updated.isoformat() if updated else "",
        number=invoice.invoice_number or "",
        customer_remote_id=str(invoice.contact.contact_id) if invoice.contact else "",
        total=Decimal(str(invoice.total or 0)).quantize(CENT),
        balance=Decimal(str(invoice.amount_due or 0)).quantize(CENT),
        issued_on=invoice.date,
        due_date=invoice.due_date,
        status={"PAID": "paid", "VOIDED": "void", "DELETED": "deleted"}.get(status, "open"),
        updated_at=updated,
    )


def payment(payment: xm.Payment) -> RemotePayment:
    invoice = payment.invoice
    amount = Decimal(str(payment.amount or 0)).quantize(CENT)
    updated = payment.updated_date_utc
    return RemotePayment(
        remote_id=str(payment.payment_id),
        version=updated.isoformat() if updated else "",
        customer_remote_id=str(invoice.contact.contact_id) if invoice and invoice.contact else "",
        amount=amount,
        received_on=payment.date,
        applied_to=((str(invoice.invoice_id), amount),) if invoice and invoice.invoice_id else (),
        reference=payment.reference or "",
        deposit_account_id=(payment.account.code if payment.account else "") or "",
        updated_at=updated,
        status="deleted" if "DELETED" in str(payment.status) else "active",
    )


def only(rows):
    row = (rows or [None])[0]
    if row is None:
        raise TemporaryError("Xero answered without the record")
    if getattr(row, "has_validation_errors", False) or getattr(row, "has_errors", False):
        errors = "; ".join(e.message for e in row.validation_errors or [] if e.message)
        raise RejectedError(f"Xero refused it: {errors}")
    return row


def item_model(draft: ItemDraft, item_id: str | None = None) -> xm.Item:
    item = xm.Item(
        item_id=item_id,
        code=(draft.sku or draft.name)[:30],
        name=draft.name[:50],
        description=draft.description[:4000] or draft.name,
        is_sold=True,
        is_purchased=False,
        sales_details=xm.Purchase(
            unit_price=draft.unit_price, account_code=draft.income_account_id
        ),
    )
    if draft.kind == "inventory":
        item.is_purchased = True
        item.inventory_asset_account_code = draft.asset_account_id
        item.purchase_details = xm.Purchase(cogs_account_code=draft.expense_account_id)
    return item


def invoice_model(draft: InvoiceDraft) -> xm.Invoice:
    reference = " · ".join(
        x
        for x in (
            draft.work_order_number,
            draft.technician_name,
            draft.completed_on.isoformat() if draft.completed_on else "",
        )
        if x
    )
    tax_type = draft.tax_code_id or None
    return xm.Invoice(
        type="ACCREC",
        contact=xm.Contact(contact_id=draft.customer_remote_id),
        date=draft.issued_on,
        due_date=draft.due_date or draft.issued_on,
        invoice_number=draft.number,
        reference=reference[:255] or None,
        currency_code=currency(draft.currency),
        status="AUTHORISED",
        line_amount_types=xm.LineAmountTypes.EXCLUSIVE,
        line_items=[
            xm.LineItem(
                description=line.description,
                quantity=line.quantity,
                unit_amount=line.unit_price,
                item_code=line.item_code or None,
                account_code=line.account_code or None,
                tax_type=(tax_type if line.taxable else "NONE") if tax_type else None,
                tracking=[xm.LineItemTracking(name=n, option=o) for n, o in line.tracking] or None,
            )
            for line in draft.lines
        ],
    )


def token_set(data: Mapping) -> TokenSet:
    now = time.time()
    return TokenSet(
        access_token=data["access_token"],
        refresh_token=data.get("refresh_token", ""),
        expires_at=float(data.get("expires_at") or now + float(data.get("expires_in") or 1800)),
        refresh_expires_at=now + 60 * 86_400,  # Xero: 60 days, single use
        scope=" ".join(data["scope"])
        if isinstance(data.get("scope"), list)
        else str(data.get("scope", "")),
    )


INCOME_TYPES = {"REVENUE", "SALES", "OTHERINCOME"}


def account(row: xm.Account) -> Account:
    kind = str(row.type).rsplit(".", 1)[-1].upper()
    return Account(
        remote_id=row.code or str(row.account_id),  # Xero references accounts by code
        name=row.name or "",
        account_type="Income" if kind in INCOME_TYPES else kind.title(),
        subtype="Bank" if kind == "BANK" else "",
    )


def _money_line(line, tax_type: str = "NONE") -> xm.LineItem:
    return xm.LineItem(
        description=line.description,
        quantity=1,
        unit_amount=line.amount,
        item_code=line.item_code or None,
        account_code=line.account_code or None,
        tax_type=tax_type,
    )


def credit_note_model(draft) -> xm.CreditNote:
    reason = f" ({draft.reason})" if draft.reason else ""
    return xm.CreditNote(
        type="ACCRECCREDIT",
        contact=xm.Contact(contact_id=draft.customer_remote_id),
        date=draft.refunded_on,
        status="AUTHORISED",
        line_amount_types=xm.LineAmountTypes.EXCLUSIVE,
        reference=f"Refund on {draft.invoice_number}{reason}"[:255],
        currency_code=currency(draft.currency),
        line_items=[_money_line(draft.line)],
    )


def sale_invoice_model(draft) -> xm.Invoice:
    return xm.Invoice(
        type="ACCREC",
        contact=xm.Contact(contact_id=draft.customer_remote_id),
        date=draft.received_on,
        due_date=draft.received_on,
        reference=(draft.memo or draft.reference)[:255] or None,
        currency_code=currency(draft.currency),
        status="AUTHORISED",
        line_amount_types=xm.LineAmountTypes.EXCLUSIVE,
        line_items=[_money_line(draft.line)],
    )
