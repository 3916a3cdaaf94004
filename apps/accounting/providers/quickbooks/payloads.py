"""QuickBooks Online payloads <-> the accounting dataclasses. Plain dicts: no SDK import here.

Intuit's JSON as documented for minor version 75: entities carry Id, SyncToken and MetaData
(times with a Pacific offset); money may arrive as numbers or strings and is kept as Decimal.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal

from django.utils import timezone

from apps.accounting.providers.base import (
    CustomerFields,
    InvoiceDraft,
    ItemDraft,
    MoneyLineDraft,
    RefundDraft,
    RemoteCustomer,
    RemoteInvoice,
    RemoteItem,
    RemotePayment,
    SaleDraft,
)

CENT = Decimal("0.01")
ENTITY_NAMES = {
    "customers": "Customer",
    "invoices": "Invoice",
    "payments": "Payment",
    "items": "Item",
}
ITEM_TYPES = {"service": "Service", "non_inventory": "NonInventory", "inventory": "Inventory"}
PAYMENT_METHOD_NAMES = {
    "cash": ("Cash",),
    "check": ("Check",),
    "card": ("Credit Card", "Visa", "MasterCard"),
    "ach": ("ACH", "EFT", "Bank Transfer"),
    "bank_transfer": ("Bank Transfer", "EFT", "ACH"),
}


def quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def money(value) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT)


def parse_time(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def parse_date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value[:10]) if value else None


def ref(row: Mapping, name: str) -> str:
    return str((row.get(name) or {}).get("value", ""))


def customer(row: Mapping) -> RemoteCustomer:
    addr = row.get("BillAddr") or {}
    fields = CustomerFields(
        display_name=row.get("DisplayName", ""),
        company_name=row.get("CompanyName", "") or "",
        email=(row.get("PrimaryEmailAddr") or {}).get("Address", "") or "",
        phone=(row.get("PrimaryPhone") or {}).get("FreeFormNumber", "") or "",
        address_line1=addr.get("Line1", "") or "",
        address_line2=addr.get("Line2", "") or "",
        city=addr.get("City", "") or "",
        region=addr.get("CountrySubDivisionCode", "") or "",
        postal_code=addr.get("PostalCode", "") or "",
        country=addr.get("Country", "") or "",
    )
    return RemoteCustomer(
        remote_id=str(row["Id"]),
        version=str(row.get("SyncToken", "")),
        fields=fields,
        updated_at=parse_time((row.get("MetaData") or {}).get("LastUpdatedTime")),
        active=row.get("Active", True),
        parent_remote_id=ref(row, "ParentRef") if row.get("Job") or row.get("ParentRef") else "",
    )


def customer_body(fields: CustomerFields, changed: Iterable[str] | None = None) -> dict:
    wanted = set(changed) if changed is not None else None
    body: dict = {}

    def want(*names: str) -> bool:
        return wanted is None or bool(wanted.intersection(names))

    if want("display_name"):
        body["DisplayName"] = fields.display_name
    if want("company_name"):
        body["CompanyName"] = fields.company_name
    if want("email"):
        body["PrimaryEmailAddr"] = {"Address": fields.email}
    if want("phone"):
        body["PrimaryPhone"] = {"FreeFormNumber": fields.phone}
    address = ("address_line1", "address_line2", "city", "region", "postal_code", "country")
    if want(*address):  # a sparse update replaces BillAddr whole, so send all of it
        body["BillAddr"] = {
            "Line1": fields.address_line1,
            "Line2": fields.address_line2,
            "City": fields.city,
            "CountrySubDivisionCode": fields.region,
            "PostalCode": fields.postal_code,
            "Country": fields.country,
        }
    return body


def item(row: Mapping) -> RemoteItem:
    kinds = {v: k for k, v in ITEM_TYPES.items()}
    return RemoteItem(
        remote_id=str(row["Id"]),
        version=str(row.get("SyncToken", "")),
        name=row.get("Name", ""),
        kind=kinds.get(row.get("Type", ""), ""),
        income_account_id=ref(row, "IncomeAccountRef"),
        unit_price=Decimal(str(row.get("UnitPrice") or 0)),
        active=row.get("Active", True),
        updated_at=parse_time((row.get("MetaData") or {}).get("LastUpdatedTime")),
    )


def invoice(row: Mapping) -> RemoteInvoice:
    total = money(row.get("TotalAmt"))
    balance = money(row.get("Balance"))
    status = "void" if row.get("PrivateNote") == "Voided" and not total else "open"
    if status == "open" and total and not balance:
        status = "paid"
    return RemoteInvoice(
        remote_id=str(row["Id"]),
        version=str(row.get("SyncToken", "")),
        number=row.get("DocNumber", "") or "",
        customer_remote_id=ref(row, "CustomerRef"),
        total=total,
        balance=balance,
        issued_on=parse_date(row.get("TxnDate")),
        due_date=parse_date(row.get("DueDate")),
        status=status,
        updated_at=parse_time((row.get("MetaData") or {}).get("LastUpdatedTime")),
    )


def payment(row: Mapping) -> RemotePayment:
    applied = []
    for line in row.get("Line") or []:
        for link in line.get("LinkedTxn") or []:
            if link.get("TxnType") == "Invoice":
                applied.append((str(link["TxnId"]), money(line.get("Amount"))))
    return RemotePayment(
        remote_id=str(row["Id"]),
        version=str(row.get("SyncToken", "")),
        customer_remote_id=ref(row, "CustomerRef"),
        amount=money(row.get("TotalAmt")),
        received_on=parse_date(row.get("TxnDate")),
        applied_to=tuple(applied),
        method_name=(row.get("PaymentMethodRef") or {}).get("name", "") or "",
        reference=row.get("PaymentRefNum", "") or "",
        deposit_account_id=ref(row, "DepositToAccountRef"),
        updated_at=parse_time((row.get("MetaData") or {}).get("LastUpdatedTime")),
    )


def item_body(draft: ItemDraft) -> dict:
    body = {
        "Name": draft.name[:100],
        "Type": ITEM_TYPES[draft.kind],
        "Description": draft.description[:4000],
        "UnitPrice": draft.unit_price,
        "IncomeAccountRef": {"value": draft.income_account_id},
        "Taxable": draft.taxable,
    }
    if draft.sku:
        body["Sku"] = draft.sku[:100]
    if draft.kind == "inventory":
        body.update(
            {
                "TrackQtyOnHand": True,
                "QtyOnHand": 0,
                "InvStartDate": timezone.localdate().isoformat(),
                "AssetAccountRef": {"value": draft.asset_account_id},
                "ExpenseAccountRef": {"value": draft.expense_account_id},
            }
        )
    return body


def invoice_body(draft: InvoiceDraft, custom_fields: Mapping | None = None) -> dict:
    definitions = custom_fields or {}
    custom = []
    for field, name, value in (
        ("work_order", "Work order", draft.work_order_number),
        ("technician", "Technician", draft.technician_name),
        (
            "completed_on",
            "Completed",
            draft.completed_on.isoformat() if draft.completed_on else "",
        ),
    ):
        definition = str(
            definitions.get(field, {"work_order": 1, "technician": 2, "completed_on": 3}[field])
        )
        if value and definition not in ("", "0", "None"):
            custom.append(
                {
                    "DefinitionId": definition,
                    "Name": name,
                    "Type": "StringType",
                    "StringValue": value[:31],
                }
            )
    lines = []
    for line in draft.lines:
        detail = {
            "ItemRef": {"value": line.item_remote_id},
            "Qty": line.quantity,
            "UnitPrice": line.unit_price,
            "TaxCodeRef": {"value": "TAX" if line.taxable else "NON"},
        }
        if line.class_id:
            detail["ClassRef"] = {"value": line.class_id}
        lines.append(
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": line.amount,
                "Description": line.description[:4000],
                "SalesItemLineDetail": detail,
            }
        )
    body = {
        "DocNumber": draft.number[:21],
        "TxnDate": draft.issued_on.isoformat(),
        "CustomerRef": {"value": draft.customer_remote_id},
        "Line": lines,
        "CustomField": custom,
    }
    if draft.due_date:
        body["DueDate"] = draft.due_date.isoformat()
    if draft.memo:
        body["CustomerMemo"] = {"value": draft.memo[:1000]}
    if draft.tax_total or draft.tax_code_id:
        tax = {"TotalTax": draft.tax_total}
        if draft.tax_code_id:
            tax["TxnTaxCodeRef"] = {"value": draft.tax_code_id}
        body["TxnTaxDetail"] = tax
    return body


# What an edit of a pushed invoice may change: its number and customer stay as linked.
UPDATABLE = ("Line", "TxnTaxDetail", "DueDate", "TxnDate", "CustomerMemo", "CustomField")


def invoice_update_body(full: Mapping) -> dict:
    body = {k: full[k] for k in UPDATABLE if k in full}
    # A sparse update keeps what it does not mention: clear the memo and tax that were removed.
    body.setdefault("CustomerMemo", {"value": ""})
    body.setdefault("TxnTaxDetail", {"TotalTax": 0})
    return body


def _money_line(line: MoneyLineDraft) -> dict:
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": line.amount,
        "Description": line.description[:4000],
        "SalesItemLineDetail": {
            "ItemRef": {"value": line.item_remote_id},
            "Qty": 1,
            "UnitPrice": line.amount,
            "TaxCodeRef": {"value": "NON"},
        },
    }


def refund_receipt_body(draft: RefundDraft, payment_method_id: str = "") -> dict:
    note = f"Refund on invoice {draft.invoice_number}" + (
        f": {draft.reason}" if draft.reason else ""
    )
    body = {
        "CustomerRef": {"value": draft.customer_remote_id},
        "TxnDate": draft.refunded_on.isoformat(),
        "Line": [_money_line(draft.line)],
        "DepositToAccountRef": {"value": draft.from_account_id},  # "Refund from"
        "PrivateNote": note[:4000],
    }
    if draft.reference:
        body["PaymentRefNum"] = draft.reference[:21]
    if payment_method_id:
        body["PaymentMethodRef"] = {"value": payment_method_id}
    return body


def sales_receipt_body(draft: SaleDraft, payment_method_id: str = "") -> dict:
    body = {
        "CustomerRef": {"value": draft.customer_remote_id},
        "TxnDate": draft.received_on.isoformat(),
        "Line": [_money_line(draft.line)],
        "PrivateNote": draft.memo[:4000],
    }
    if draft.deposit_account_id:
        body["DepositToAccountRef"] = {"value": draft.deposit_account_id}
    if draft.reference:
        body["PaymentRefNum"] = draft.reference[:21]
    if payment_method_id:
        body["PaymentMethodRef"] = {"value": payment_method_id}
    return body
