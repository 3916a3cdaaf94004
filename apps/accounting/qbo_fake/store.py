"""One QuickBooks company's books, as the fake keeps them: the rules Intuit documents.

- Every entity has Id, SyncToken ("0" on create, +1 per update) and MetaData in Pacific time.
- An update must carry the current SyncToken, else Fault 5010 (stale object); `sparse: true`
  merges, a full update replaces.
- DisplayName is unique across customers, vendors and employees (6240); Item names are unique
  (6240); an invoice DocNumber is unique (6140) unless `include=allowduplicatedocnum`.
- References must point at existing, active rows (2500). Line amounts must equal Qty x UnitPrice
  (6070). A payment applied to an invoice lowers its balance and links both ways.
- Deletions are remembered so change data capture can report them with status "Deleted".
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

PACIFIC = ZoneInfo("America/Los_Angeles")
CENT = Decimal("0.01")


class Fault(Exception):
    """A business fault: becomes {"Fault": {"Error": [...], "type": ...}} with HTTP 400."""

    def __init__(self, code: str, message: str, detail: str = "", *, kind="ValidationFault"):
        super().__init__(message)
        self.code, self.message, self.detail, self.kind = code, message, detail or message, kind

    def body(self) -> dict:
        return {
            "Error": [
                {"Message": self.message, "Detail": self.detail, "code": self.code, "element": ""}
            ],
            "type": self.kind,
        }


def _now() -> dt.datetime:
    return dt.datetime.now(tz=PACIFIC)


def qbo_time(value: dt.datetime) -> str:
    return value.astimezone(PACIFIC).isoformat(timespec="seconds")


def _money(value) -> Decimal:
    try:
        return Decimal(str(value if value not in (None, "") else 0)).quantize(CENT)
    except ArithmeticError:
        raise Fault("2050", "Invalid number", f"Not a number: {value!r}") from None


def _ref(row: dict, name: str) -> str:
    ref = row.get(name) or {}
    return str(ref.get("value", "")) if isinstance(ref, dict) else ""


READ_ONLY = {"Id", "MetaData", "domain", "sparse", "SyncToken", "FullyQualifiedName"}
ENTITIES = (
    "Customer",
    "Vendor",
    "Employee",
    "Item",
    "Account",
    "Invoice",
    "Payment",
    "RefundReceipt",
    "SalesReceipt",
    "PaymentMethod",
    "Class",
    "TaxCode",
)


class Company:
    def __init__(self, realm: str, name: str = "Sandbox Company_US_1"):
        self.realm = realm
        self.name = name
        self.lock = threading.RLock()
        self.rows: dict[str, dict[str, dict]] = {entity: {} for entity in ENTITIES}
        self.deleted: list[tuple[str, str, dt.datetime]] = []  # (entity, id, when)
        self._ids = itertools.count(1)
        self._changed: dict[tuple[str, str], dt.datetime] = {}
        # Preferences > Currency: a company's home currency is fixed; multicurrency, once on,
        # lets customers (and so their transactions) be in another currency.
        self.home_currency = "USD"
        self.multicurrency = False
        self.exchange_rates: dict[str, Decimal] = {}
        self.seed_defaults()

    # --- helpers -------------------------------------------------------------------------------
    def _stamp(self, entity: str, row: dict, *, created: bool) -> None:
        now = _now()
        meta = row.setdefault("MetaData", {})
        if created:
            meta["CreateTime"] = qbo_time(now)
        meta["LastUpdatedTime"] = qbo_time(now)
        self._changed[(entity, row["Id"])] = now

    def changed_at(self, entity: str, row_id: str) -> dt.datetime:
        return self._changed[(entity, row_id)]

    def insert(self, entity: str, row: dict) -> dict:
        row = copy.deepcopy(row)
        row["Id"] = str(next(self._ids))
        row["SyncToken"] = "0"
        row["domain"] = "QBO"
        row.pop("sparse", None)
        self._stamp(entity, row, created=True)
        self.rows[entity][row["Id"]] = row
        return row

    def touch(self, entity: str, row: dict) -> None:
        row["SyncToken"] = str(int(row["SyncToken"]) + 1)
        self._stamp(entity, row, created=False)

    def seed_defaults(self) -> None:
        for name, kind, subtype in (
            ("Services", "Income", "ServiceFeeIncome"),
            ("Sales of Product Income", "Income", "SalesOfProductIncome"),
            ("HVAC service revenue", "Income", "ServiceFeeIncome"),
            ("Plumbing service revenue", "Income", "ServiceFeeIncome"),
            ("Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
            ("Checking", "Bank", "Checking"),
            ("Inventory Asset", "Other Current Asset", "Inventory"),
            ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
        ):
            self.insert(
                "Account",
                {"Name": name, "AccountType": kind, "AccountSubType": subtype, "Active": True},
            )
        for name in ("Cash", "Check", "Visa", "MasterCard", "American Express"):
            self.insert("PaymentMethod", {"Name": name, "Active": True})
        for name in ("TAX", "NON"):
            self.insert("TaxCode", {"Name": name, "Active": True})

    def find(self, entity: str, **match) -> dict | None:
        for row in self.rows[entity].values():
            if all(str(row.get(k, "")).lower() == str(v).lower() for k, v in match.items()):
                return row
        return None

    def _require(self, entity: str, row_id: str, what: str) -> dict:
        row = self.rows[entity].get(str(row_id))
        if row is None or row.get("Active") is False:
            raise Fault(
                "2500",
                "Invalid Reference Id",
                f"Invalid Reference Id : {what} {row_id} does not exist or has been made inactive.",
            )
        return row

    def _name_taken(self, name: str, *, except_id: str = "", entity: str = "") -> bool:
        for kind in ("Customer", "Vendor", "Employee"):
            for row in self.rows[kind].values():
                same = kind == entity and row["Id"] == except_id
                if not same and str(row.get("DisplayName", "")).lower() == name.lower():
                    return True
        return False

    # --- reads ---------------------------------------------------------------------------------
    def get(self, entity: str, row_id: str) -> dict:
        row = self.rows.get(entity, {}).get(str(row_id))
        if row is None:
            raise Fault(
                "610",
                "Object Not Found",
                f"Object Not Found : Something you're trying to use has been made inactive. "
                f"Check the fields with accounts, customers, items, vendors or employees. "
                f"{entity} {row_id}",
            )
        return row

    # --- writes --------------------------------------------------------------------------------
    def save(self, entity: str, body: dict, *, params: dict) -> dict:
        if entity not in self.rows:
            raise Fault("500", "Unsupported Operation", f"{entity} is not supported by the fake")
        operation = params.get("operation", "")
        if operation == "delete":
            return self.delete(entity, body)
        if operation == "void":
            return self.void(entity, body)
        if body.get("Id"):
            return self.update(entity, body, params=params)
        return self.create(entity, body, params=params)

    def create(self, entity: str, body: dict, *, params: dict) -> dict:
        validate = getattr(self, f"_validate_{entity.lower()}", None)
        if validate:
            validate(body, params=params, existing=None)
        if entity in ("Customer", "Vendor", "Employee"):
            body.setdefault("Active", True)
            body["FullyQualifiedName"] = body["DisplayName"]
            parent = (
                self.rows["Customer"].get(_ref(body, "ParentRef")) if entity == "Customer" else None
            )
            if parent is not None:  # Parent:Child, as QuickBooks names sub-customers
                body["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{body['DisplayName']}"
                body["Level"] = int(parent.get("Level", 0)) + 1
        if entity == "Item":
            body.setdefault("Active", True)
            body["FullyQualifiedName"] = body["Name"]
        row = self.insert(entity, body)
        after = getattr(self, f"_after_{entity.lower()}", None)
        if after:
            after(row, previous=None)
        return row

    def update(self, entity: str, body: dict, *, params: dict) -> dict:
        current = self.get(entity, body["Id"])
        if str(body.get("SyncToken", "")) != current["SyncToken"]:
            raise Fault(
                "5010",
                "Stale Object Error",
                "Stale Object Error : You and root were working on this at the same time. "
                "root finished before you did, so your work was not saved.",
            )
        if body.get("sparse") in (True, "true"):
            merged = {**current, **{k: v for k, v in body.items() if k not in READ_ONLY}}
        else:
            kept = {k: current[k] for k in READ_ONLY if k in current}
            merged = {**{k: v for k, v in body.items() if k not in READ_ONLY}, **kept}
        validate = getattr(self, f"_validate_{entity.lower()}", None)
        if validate:
            validate(merged, params=params, existing=current)
        previous = copy.deepcopy(current)
        merged.pop("sparse", None)
        if "DisplayName" in merged:
            merged["FullyQualifiedName"] = merged["DisplayName"]
        current.clear()
        current.update(merged)
        self.touch(entity, current)
        after = getattr(self, f"_after_{entity.lower()}", None)
        if after:
            after(current, previous=previous)
        return current

    def delete(self, entity: str, body: dict) -> dict:
        if entity not in ("Invoice", "Payment"):
            raise Fault("6000", "A business validation error has occurred", "Cannot delete")
        current = self.get(entity, body.get("Id", ""))
        if str(body.get("SyncToken", "")) != current["SyncToken"]:
            raise Fault("5010", "Stale Object Error", "Stale Object Error")
        if entity == "Payment":
            self._after_payment({"Id": current["Id"], "Line": []}, previous=current)
        del self.rows[entity][current["Id"]]
        self.deleted.append((entity, current["Id"], _now()))
        return {"Id": current["Id"], "status": "Deleted", "domain": "QBO"}

    def void(self, entity: str, body: dict) -> dict:
        """Intuit: a voided transaction stays, with its amounts at zero and "Voided" as its note;
        the request carries Id and SyncToken like an update."""
        current = self.get(entity, body.get("Id", ""))
        if entity not in ("Invoice", "Payment", "SalesReceipt", "RefundReceipt"):
            raise Fault("6000", "A business validation error has occurred", "Cannot void")
        if str(body.get("SyncToken", "")) != current["SyncToken"]:
            raise Fault("5010", "Stale Object Error", "Stale Object Error")
        previous = copy.deepcopy(current)
        current.update({"TotalAmt": Decimal(0), "Balance": Decimal(0), "PrivateNote": "Voided"})
        if entity == "Payment":
            current["UnappliedAmt"] = Decimal(0)
        for line in current.get("Line", []):
            line["Amount"] = Decimal(0)
        self.touch(entity, current)
        if entity == "Payment":  # its invoices are open again
            self._after_payment(current, previous=previous)
        return current

    # --- entity rules ----------------------------------------------------------------------------
    def _validate_customer(self, body: dict, *, params: dict, existing: dict | None) -> None:
        name = str(body.get("DisplayName") or "").strip()
        if not name:
            given = " ".join(
                str(body.get(k) or "") for k in ("GivenName", "FamilyName") if body.get(k)
            )
            name = given or str(body.get("CompanyName") or "")
            body["DisplayName"] = name
        if not name:
            raise Fault(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter DisplayName is missing in the request",
            )
        if ":" in name:
            raise Fault("2050", "Invalid String", "DisplayName cannot contain a colon (:).")
        if self._name_taken(name, except_id=(existing or {}).get("Id", ""), entity="Customer"):
            raise Fault(
                "6240",
                "Duplicate Name Exists Error",
                "The name supplied already exists. : Another customer, vendor or employee is "
                "already using this name. Please use a different name.",
            )
        if _ref(body, "ParentRef"):  # a sub-customer (job) is in its parent's currency
            parent = self._require("Customer", _ref(body, "ParentRef"), "Customer")
            body.setdefault("CurrencyRef", parent.get("CurrencyRef"))
            body["Job"] = True
        elif body.get("Job") is True or body.get("BillWithParent") is True:
            raise Fault(
                "2020", "Required param missing", "ParentRef is required for a sub-customer"
            )
        self._validate_customer_currency(body, existing)

    def _validate_customer_currency(self, body: dict, existing: dict | None) -> None:
        wanted = _ref(body, "CurrencyRef") or _ref(existing or {}, "CurrencyRef")
        wanted = wanted or self.home_currency
        if existing is not None and wanted != (_ref(existing, "CurrencyRef") or self.home_currency):
            raise Fault("6000", "A business validation error has occurred", "Currency is fixed")
        if wanted != self.home_currency and not self.multicurrency:
            raise Fault(
                "6000",
                "A business validation error has occurred",
                "Multicurrency is not enabled for this company.",
            )
        body["CurrencyRef"] = {"value": wanted}

    def preferences(self) -> dict:
        return {
            "Id": "1",
            "SyncToken": "0",
            "CurrencyPrefs": {
                "MultiCurrencyEnabled": self.multicurrency,
                "HomeCurrency": {"value": self.home_currency},
            },
        }

    def _transaction_currency(self, body: dict) -> None:
        """A transaction is in its customer's currency (CurrencyRef may only repeat it); a
        foreign one carries ExchangeRate (given, or the company's rate) and home amounts."""
        customer = self._require("Customer", _ref(body, "CustomerRef"), "Customer")
        theirs = _ref(customer, "CurrencyRef") or self.home_currency
        given = _ref(body, "CurrencyRef")
        if given and given != theirs:
            raise Fault(
                "6000",
                "A business validation error has occurred",
                f"The transaction currency {given} must match the customer's currency {theirs}.",
            )
        body["CurrencyRef"] = {"value": theirs}
        if theirs == self.home_currency:
            body["ExchangeRate"] = Decimal(1)
        else:
            rate = body.get("ExchangeRate") or self.exchange_rates.get(theirs, Decimal(1))
            body["ExchangeRate"] = Decimal(str(rate))
        if "TotalAmt" in body:
            body["HomeTotalAmt"] = (_money(body["TotalAmt"]) * body["ExchangeRate"]).quantize(CENT)

    _validate_vendor = _validate_employee = _validate_customer

    def _validate_item(self, body: dict, *, params: dict, existing: dict | None) -> None:
        name = str(body.get("Name") or "").strip()
        if not name:
            raise Fault("2020", "Required param missing", "Required parameter Name is missing")
        for row in self.rows["Item"].values():
            if row["Id"] != (existing or {}).get("Id") and row["Name"].lower() == name.lower():
                raise Fault(
                    "6240",
                    "Duplicate Name Exists Error",
                    "The name supplied already exists. : Another product or service is already "
                    "using this name. Please use a different name.",
                )
        kind = body.get("Type", "Service")
        if kind not in ("Service", "NonInventory", "Inventory"):
            raise Fault("2170", "Invalid Enumeration", f"Item Type {kind!r} is not supported")
        if not _ref(body, "IncomeAccountRef"):
            raise Fault(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter IncomeAccountRef is missing in the request",
            )
        self._require("Account", _ref(body, "IncomeAccountRef"), "Account")
        if kind == "Inventory":
            for need in ("AssetAccountRef", "ExpenseAccountRef"):
                self._require("Account", _ref(body, need), "Account")
            if body.get("QtyOnHand") is None or not body.get("InvStartDate"):
                raise Fault("2020", "Required param missing", "QtyOnHand and InvStartDate")

    def _validate_invoice(self, body: dict, *, params: dict, existing: dict | None) -> None:
        self._require("Customer", _ref(body, "CustomerRef"), "Customer")
        lines = body.get("Line") or []
        if not lines:
            raise Fault("2020", "Required param missing", "Required parameter Line is missing")
        subtotal = Decimal(0)
        for line in lines:
            amount = _money(line.get("Amount"))
            detail = line.get("SalesItemLineDetail")
            if line.get("DetailType") == "SalesItemLineDetail" and detail:
                self._require("Item", _ref(detail, "ItemRef"), "Item")
                if _ref(detail, "ClassRef"):
                    self._require("Class", _ref(detail, "ClassRef"), "Class")
                if detail.get("Qty") is not None and detail.get("UnitPrice") is not None:
                    expected = (_money(detail["UnitPrice"]) * Decimal(str(detail["Qty"]))).quantize(
                        CENT
                    )
                    if expected != amount:
                        raise Fault(
                            "6070",
                            "Amount is not equal to UnitPrice * Qty",
                            f"Amount {amount} is not equal to UnitPrice * Qty = {expected}",
                        )
            subtotal += amount
        number = body.get("DocNumber")
        allow_dup = "allowduplicatedocnum" in params.get("include", "")
        if number and not allow_dup:
            for row in self.rows["Invoice"].values():
                if row["Id"] != (existing or {}).get("Id") and row.get("DocNumber") == number:
                    raise Fault(
                        "6140",
                        "Duplicate Document Number Error",
                        f"Duplicate Document Number Error : You must specify a different number. "
                        f"This number has already been used. DocNumber={number} is assigned to "
                        f"TxnType=Invoice with TxnId={row['Id']}",
                    )
        tax = _money((body.get("TxnTaxDetail") or {}).get("TotalTax"))
        paid = Decimal(0)
        if existing:
            paid = _money(existing.get("TotalAmt")) - _money(existing.get("Balance"))
        body["TotalAmt"] = subtotal + tax
        body["Balance"] = body["TotalAmt"] - paid
        body.setdefault("TxnDate", _now().date().isoformat())
        self._transaction_currency(body)

    def _validate_payment(self, body: dict, *, params: dict, existing: dict | None) -> None:
        customer_id = _ref(body, "CustomerRef")
        self._require("Customer", customer_id, "Customer")
        total = _money(body.get("TotalAmt"))
        if total <= 0:
            raise Fault("2020", "Required param missing", "TotalAmt must be greater than zero")
        applied = Decimal(0)
        already = {}
        for line in (existing or {}).get("Line", []):
            for link in line.get("LinkedTxn", []):
                already[str(link["TxnId"])] = already.get(str(link["TxnId"]), 0) + _money(
                    line["Amount"]
                )
        for line in body.get("Line") or []:
            amount = _money(line.get("Amount"))
            for link in line.get("LinkedTxn") or []:
                invoice = self.get("Invoice", str(link.get("TxnId")))
                if _ref(invoice, "CustomerRef") != customer_id:
                    raise Fault("6000", "A business validation error has occurred", "Customer")
                open_balance = _money(invoice["Balance"]) + already.get(invoice["Id"], 0)
                if amount > open_balance:
                    raise Fault(
                        "6000",
                        "A business validation error has occurred",
                        f"The payment of {amount} is more than the open balance {open_balance} "
                        f"of invoice {invoice.get('DocNumber') or invoice['Id']}.",
                    )
            applied += amount
        if applied > total:
            raise Fault("6000", "A business validation error has occurred", "Applied > total")
        if _ref(body, "DepositToAccountRef"):
            self._require("Account", _ref(body, "DepositToAccountRef"), "Account")
        else:
            funds = self.find("Account", AccountSubType="UndepositedFunds")
            body["DepositToAccountRef"] = {"value": funds["Id"], "name": funds["Name"]}
        body["TotalAmt"] = total
        body["UnappliedAmt"] = total - applied
        body.setdefault("TxnDate", _now().date().isoformat())
        self._transaction_currency(body)

    def _validate_salesreceipt(self, body: dict, *, params: dict, existing: dict | None) -> None:
        """Sales and refund receipts: a customer, item lines that add up, a real account."""
        self._require("Customer", _ref(body, "CustomerRef"), "Customer")
        lines = body.get("Line") or []
        if not lines:
            raise Fault("2020", "Required param missing", "Required parameter Line is missing")
        total = Decimal(0)
        for line in lines:
            detail = line.get("SalesItemLineDetail") or {}
            self._require("Item", _ref(detail, "ItemRef"), "Item")
            total += _money(line.get("Amount"))
        if total <= 0:
            raise Fault("6000", "A business validation error has occurred", "Amount must be > 0")
        if _ref(body, "DepositToAccountRef"):
            self._require("Account", _ref(body, "DepositToAccountRef"), "Account")
        else:
            funds = self.find("Account", AccountSubType="UndepositedFunds")
            body["DepositToAccountRef"] = {"value": funds["Id"], "name": funds["Name"]}
        if _ref(body, "PaymentMethodRef"):
            self._require("PaymentMethod", _ref(body, "PaymentMethodRef"), "PaymentMethod")
        body["TotalAmt"] = total
        body.setdefault("TxnDate", _now().date().isoformat())
        self._transaction_currency(body)

    def _validate_refundreceipt(self, body: dict, *, params: dict, existing: dict | None) -> None:
        # Intuit requires the account the refund is paid from (DepositToAccountRef).
        if not _ref(body, "DepositToAccountRef"):
            raise Fault(
                "2020",
                "Required param missing, need to supply the required value for the API",
                "Required parameter DepositToAccountRef is missing in the request",
            )
        self._validate_salesreceipt(body, params=params, existing=existing)

    def _after_payment(self, row: dict, *, previous: dict | None) -> None:
        """Move invoice balances by the difference between the old and new applications."""
        delta: dict[str, Decimal] = {}
        for source, sign in ((previous or {}, 1), (row, -1)):
            for line in source.get("Line", []) or []:
                for link in line.get("LinkedTxn", []) or []:
                    key = str(link["TxnId"])
                    delta[key] = delta.get(key, Decimal(0)) + sign * _money(line["Amount"])
        for invoice_id, change in delta.items():
            invoice = self.rows["Invoice"].get(invoice_id)
            if invoice is None or not change:
                continue
            invoice["Balance"] = _money(invoice["Balance"]) + change
            links = [x for x in invoice.get("LinkedTxn", []) if x.get("TxnId") != row.get("Id")]
            if row.get("Id") and change < 0:
                links.append({"TxnId": row["Id"], "TxnType": "Payment"})
            invoice["LinkedTxn"] = links
            self.touch("Invoice", invoice)
