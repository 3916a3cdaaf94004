"""What the accounting services see of a vendor: normalized, frozen records and one error tree.

An adapter (quickbooks.py, xero.py) maps these to and from its SDK and maps the SDK's errors into
the framework's tree (plus the few accounting-specific leaves below). The workflow itself (look up
before create, idempotency keys, last-modified-wins, cursors, per-record failures) lives in
apps.accounting.services and is the same for every vendor, as in django-anymail's base backend.
"""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal
from typing import ClassVar

from apps.accounting import conf
from apps.integrations.errors import AuthenticationError, NotConfigured, RejectedError
from apps.integrations.providers import Provider, SyncOutcome
from apps.integrations.ratelimit import Limiter, limiter_for

ZERO = Decimal("0.00")


# --- accounting leaves of the framework's error tree -------------------------------------------
class StaleObject(RejectedError):
    """Someone changed the record at the vendor since we read it (QuickBooks 5010)."""


class DuplicateName(RejectedError):
    """The name is taken (QuickBooks 6240: across customers, vendors and employees)."""


class DuplicateDocument(RejectedError):
    """The document number is taken (QuickBooks 6140)."""


class RemoteNotFound(RejectedError):
    """The record is gone or inactive at the vendor (QuickBooks 610)."""


class InvalidGrant(AuthenticationError):
    """The refresh token was refused: only the customer reconnecting can fix it."""


class SignInCodeRefused(RejectedError):
    """The vendor refused the authorization code of a connect attempt (used, expired): that
    attempt failed, while the connection's saved sign-in, if any, is untouched."""


# --- tokens ------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    expires_at: float  # epoch seconds
    refresh_expires_at: float | None = None
    scope: str = ""

    def as_credentials(self) -> dict:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "access_token_expires_at": self.expires_at,
            "refresh_token_expires_at": self.refresh_expires_at,
            "scope": self.scope,
        }


@dataclasses.dataclass(frozen=True)
class Company:
    remote_id: str  # QuickBooks realm, Xero tenant
    name: str = ""


# --- records -----------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CustomerFields:
    """The customer fields both sides hold; compared field by field for last-modified-wins."""

    display_name: str
    company_name: str = ""
    email: str = ""
    phone: str = ""
    address_line1: str = ""
    address_line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    def changed(self, other: CustomerFields) -> dict[str, tuple[str, str]]:
        """{field: (ours, theirs)} for every field that differs."""
        return {
            f.name: (getattr(self, f.name), getattr(other, f.name))
            for f in dataclasses.fields(self)
            if (getattr(self, f.name) or "") != (getattr(other, f.name) or "")
        }


@dataclasses.dataclass(frozen=True)
class RemoteCustomer:
    remote_id: str
    version: str
    fields: CustomerFields
    updated_at: dt.datetime | None = None
    active: bool = True
    parent_remote_id: str = ""  # a QuickBooks sub-customer (job): its parent customer


@dataclasses.dataclass(frozen=True)
class Account:
    remote_id: str
    name: str
    account_type: str = ""
    subtype: str = ""


@dataclasses.dataclass(frozen=True)
class ItemDraft:
    name: str
    kind: str  # "service", "non_inventory", "inventory"
    description: str = ""
    unit_price: Decimal = ZERO
    income_account_id: str = ""
    sku: str = ""
    taxable: bool = True
    asset_account_id: str = ""
    expense_account_id: str = ""


@dataclasses.dataclass(frozen=True)
class RemoteItem:
    remote_id: str
    version: str
    name: str
    kind: str = ""
    income_account_id: str = ""
    unit_price: Decimal = ZERO
    active: bool = True
    updated_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class InvoiceLineDraft:
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    item_remote_id: str = ""
    item_code: str = ""  # Xero's ItemCode
    account_code: str = ""  # Xero posts lines to an account code
    taxable: bool = True
    class_id: str = ""  # QuickBooks class
    tracking: tuple[tuple[str, str], ...] = ()  # Xero (category name, option name)


@dataclasses.dataclass(frozen=True)
class InvoiceDraft:
    number: str
    customer_remote_id: str
    issued_on: dt.date
    lines: tuple[InvoiceLineDraft, ...]
    due_date: dt.date | None = None
    currency: str = "USD"
    tax_total: Decimal = ZERO
    tax_code_id: str = ""
    memo: str = ""
    work_order_number: str = ""
    technician_name: str = ""
    completed_on: dt.date | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO) + self.tax_total


@dataclasses.dataclass(frozen=True)
class RemoteInvoice:
    remote_id: str
    version: str
    number: str
    customer_remote_id: str = ""
    total: Decimal = ZERO
    balance: Decimal = ZERO
    issued_on: dt.date | None = None
    due_date: dt.date | None = None
    status: str = "open"  # open, paid, void, deleted
    updated_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class PaymentDraft:
    customer_remote_id: str
    amount: Decimal
    received_on: dt.date
    method: str  # our PaymentMethod value
    applied_to: tuple[tuple[str, Decimal], ...]  # (invoice remote id, amount)
    reference: str = ""
    deposit_account_id: str = ""
    currency: str = "USD"


@dataclasses.dataclass(frozen=True)
class RemotePayment:
    remote_id: str
    version: str
    customer_remote_id: str
    amount: Decimal
    received_on: dt.date | None
    applied_to: tuple[tuple[str, Decimal], ...] = ()
    method_name: str = ""
    reference: str = ""
    deposit_account_id: str = ""
    updated_at: dt.datetime | None = None
    status: str = "active"  # active, deleted


@dataclasses.dataclass(frozen=True)
class MoneyLineDraft:
    """One line of a refund or a sales receipt: an item and the account its income goes to."""

    description: str
    amount: Decimal
    item_remote_id: str = ""
    item_code: str = ""
    account_code: str = ""  # Xero posts lines to an account code


@dataclasses.dataclass(frozen=True)
class RefundDraft:
    """Money paid back to a customer against one of our invoices (QuickBooks RefundReceipt,
    Xero credit note refunded with a payment)."""

    customer_remote_id: str
    invoice_remote_id: str
    invoice_number: str
    amount: Decimal
    refunded_on: dt.date
    method: str  # our PaymentMethod value of the refunded payment
    line: MoneyLineDraft
    from_account_id: str = ""  # the account the money leaves (the method's deposit account)
    reference: str = ""
    reason: str = ""
    currency: str = "USD"


@dataclasses.dataclass(frozen=True)
class SaleDraft:
    """Revenue received without an invoice of ours (a paid maintenance-agreement period):
    QuickBooks SalesReceipt, Xero invoice paid at once."""

    customer_remote_id: str
    amount: Decimal
    received_on: dt.date
    method: str
    line: MoneyLineDraft
    deposit_account_id: str = ""
    reference: str = ""
    memo: str = ""
    currency: str = "USD"


@dataclasses.dataclass(frozen=True)
class RemoteDeletion:
    entity: str  # customer, item, invoice, payment
    remote_id: str
    deleted_at: dt.datetime | None = None


@dataclasses.dataclass(frozen=True)
class ChangeSet:
    """What changed at the vendor since a cursor, read up to `until` (vendor time)."""

    until: dt.datetime
    customers: tuple[RemoteCustomer, ...] = ()
    invoices: tuple[RemoteInvoice, ...] = ()
    payments: tuple[RemotePayment, ...] = ()
    deletions: tuple[RemoteDeletion, ...] = ()
    truncated: bool = False  # the vendor's page cap was hit: pull again from the new cursor


@dataclasses.dataclass(frozen=True)
class BatchEntry:
    """One record in a multi-record write: its batch item id and what to write."""

    item_id: str
    draft: InvoiceDraft


class Steps:
    """Finished steps of a write made of several requests (Xero: a credit note, then its payment).

    This in-memory one lasts one call; services.steps.WriteSteps keeps them in the database, so a
    retry of the write sends only the steps still owed.
    """

    def __init__(self):
        self._done: dict[str, str] = {}

    def get(self, step: str) -> str | None:
        return self._done.get(step)

    def record(self, step: str, *, remote_id: str, key: str) -> None:
        self._done[step] = remote_id


# --- the provider ------------------------------------------------------------------------------
class AccountingProvider(Provider, abc.ABC):
    """A vendor's books. Every method is one (or, for pages, a few) counted vendor calls."""

    resources: ClassVar[dict[str, str]] = {
        "customers": "bidirectional",
        "items": "push",
        "invoices": "bidirectional",
        "payments": "bidirectional",
    }
    max_batch_size: ClassVar[int] = 1
    # Created for every new connection (CLI, admin, API) and on connecting: the 15-minute
    # customer pull, the 5-minute invoice and payment runs (which also re-send what a crash left
    # owed), the nightly items run.
    default_schedules: ClassVar[Mapping[str, Mapping[str, object]]] = {
        "customers": {"every_minutes": 15},
        "payments": {"every_minutes": 5},
        "invoices": {"every_minutes": 5},
        "items": {"crontab": "0 3 * * *"},
    }
    # Changes pulled again on every run, so a change committed at the vendor just before our
    # cursor's timestamp (but made visible after) is not skipped. Upserts make the re-read harmless.
    pull_overlap: ClassVar[dt.timedelta] = dt.timedelta(minutes=5)
    max_lookback: ClassVar[dt.timedelta | None] = None  # how far back the vendor reports changes

    # The customer fields the vendor holds; the others are never compared or overwritten.
    customer_fields_supported: ClassVar[frozenset[str]] = frozenset(
        f.name for f in dataclasses.fields(CustomerFields)
    )

    # How the connect flow names the vendor and the account, and where its app credentials live.
    vendor_name: ClassVar[str]  # "QuickBooks"
    account_noun: ClassVar[str]  # "company (realm id)"
    settings_prefix: ClassVar[str]  # "QUICKBOOKS" -> QUICKBOOKS_CLIENT_ID / _CLIENT_SECRET

    _slot_held: bool = False

    def check_credentials(self) -> None:
        if not (self.connection.credentials or {}).get("refresh_token"):
            raise NotConfigured(
                f"{self.vendor_name} is not connected yet: use “Connect to {self.vendor_name}”."
            )
        if not self.connection.external_account_id:
            raise NotConfigured(
                f"The {self.vendor_name} {self.account_noun} is unknown: reconnect."
            )

    def _app_credentials(self) -> tuple[str, str]:
        """The connection's own app (a business that brings its own) wins over the deployment's."""
        creds = self.connection.credentials or {}
        client_id = creds.get("client_id") or conf.setting(f"{self.settings_prefix}_CLIENT_ID")
        secret = creds.get("client_secret") or conf.setting(f"{self.settings_prefix}_CLIENT_SECRET")
        if not client_id or not secret:
            raise NotConfigured(
                f"{self.vendor_name} app credentials are missing: set "
                f"{self.settings_prefix}_CLIENT_ID and {self.settings_prefix}_CLIENT_SECRET in "
                "the server's environment, or client_id and client_secret in the connection's "
                "credentials."
            )
        return client_id, secret

    @property
    def limiter(self) -> Limiter:
        cached = getattr(self, "_limiter", None)
        if cached is None:
            cached = self._limiter = limiter_for(
                self.connection.pk, self.rate_limits, max_wait=self.limiter_max_wait
            )
        return cached

    limiter_max_wait: ClassVar[float] = 15.0

    @contextlib.contextmanager
    def request_slot(self) -> Iterator[None]:
        """Hold the rate limiter's place for the next vendor call made inside the block.

        The outbox takes the slot before deciding what to send, so the decision (a batch or a
        single create) and the batch window are counted at the moment the request really leaves.
        """
        with self.limiter.slot():
            self._slot_held = True
            try:
                yield
            finally:
                self._slot_held = False

    def _slot(self):
        if self._slot_held:
            self._slot_held = False  # one held slot covers exactly one request
            return contextlib.nullcontext()
        return self.limiter.slot()

    def batch_available(self) -> bool:
        """Whether a multi-record request may go now (QuickBooks counts batches separately)."""
        return self.max_batch_size > 1

    def default_deposit_account(self, accounts: Sequence[Account]) -> str:
        """Where payments go when no deposit account is mapped for their method."""
        return ""

    # --- OAuth -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def oauth_authorization_url(self, *, state: str, redirect_uri: str) -> str: ...

    @abc.abstractmethod
    def oauth_exchange(
        self, *, code: str, redirect_uri: str, params: Mapping[str, str]
    ) -> tuple[TokenSet, Company]: ...

    @abc.abstractmethod
    def oauth_refresh(self, *, refresh_token: str) -> TokenSet: ...

    # --- reads -----------------------------------------------------------------------------------
    @abc.abstractmethod
    def accounts(self) -> list[Account]: ...

    @abc.abstractmethod
    def customers_all(self) -> list[RemoteCustomer]:
        """Every customer, active or not (the first sync links what already exists)."""

    @abc.abstractmethod
    def customer_find(self, *, display_name: str) -> RemoteCustomer | None: ...

    @abc.abstractmethod
    def customer_get(self, *, remote_id: str) -> RemoteCustomer: ...

    @abc.abstractmethod
    def item_get(self, *, remote_id: str) -> RemoteItem: ...

    @abc.abstractmethod
    def item_find(self, *, name: str, code: str = "") -> RemoteItem | None: ...

    @abc.abstractmethod
    def invoice_find(self, *, number: str) -> RemoteInvoice | None: ...

    @abc.abstractmethod
    def changes_since(self, *, entities: Sequence[str], since: dt.datetime) -> ChangeSet: ...

    # --- writes (each carries its idempotency key) -------------------------------------------------
    @abc.abstractmethod
    def customer_create(self, *, fields: CustomerFields, key: str) -> RemoteCustomer: ...

    @abc.abstractmethod
    def customer_update(
        self,
        *,
        remote_id: str,
        version: str,
        fields: CustomerFields,
        changed: Sequence[str],
        key: str,
    ) -> RemoteCustomer:
        """Sparse update: only the `changed` fields are sent, with the version we last read."""

    @abc.abstractmethod
    def item_create(self, *, draft: ItemDraft, key: str) -> RemoteItem: ...

    @abc.abstractmethod
    def item_update(
        self, *, remote_id: str, version: str, draft: ItemDraft, key: str
    ) -> RemoteItem:
        """Sparse update that also reactivates the item."""

    @abc.abstractmethod
    def invoices_create(
        self, *, entries: Sequence[BatchEntry], request_id: str
    ) -> dict[str, RemoteInvoice | Exception]:
        """Create the invoices in one request (a batch when there are several).

        Returns per batch item id either the created invoice or the error for that record; an
        error of the whole request (timeout, 429, auth) is raised instead.
        """

    @abc.abstractmethod
    def payment_create(self, *, draft: PaymentDraft, key: str) -> RemotePayment: ...

    # --- after the first push (edits, voids, refunds, receipts) ---------------------------------
    supports_sub_customers: ClassVar[bool] = False

    def sub_customer_create(
        self, *, parent_remote_id: str, fields: CustomerFields, key: str
    ) -> RemoteCustomer:
        """A customer billed with its parent (QuickBooks: Job=true, ParentRef, BillWithParent)."""
        raise NotImplementedError

    def invoice_get(self, *, remote_id: str) -> RemoteInvoice:
        raise NotImplementedError

    def invoice_update(
        self, *, remote_id: str, version: str, draft: InvoiceDraft, key: str
    ) -> RemoteInvoice:
        """Replace the lines, tax, dates and memo of an invoice already at the vendor (sparse:
        the vendor's own fields, e.g. its delivery status, are kept)."""
        raise NotImplementedError

    def invoice_void(self, *, remote_id: str, version: str, key: str) -> RemoteInvoice:
        raise NotImplementedError

    def refund_create(self, *, draft: RefundDraft, key: str, steps: Steps | None = None) -> str:
        """Record the refund; returns the vendor's id of the refund document. A vendor that
        needs several requests records each finished one in `steps` and skips those found there."""
        raise NotImplementedError

    def sale_create(self, *, draft: SaleDraft, key: str, steps: Steps | None = None) -> str:
        """Record revenue received at once; returns the vendor's id of the document (`steps`: as
        for refund_create)."""
        raise NotImplementedError

    # --- the framework's entry points ----------------------------------------------------------------
    backfill_resources: ClassVar[tuple[str, ...]] = ("invoices", "payments")

    def sync(self, *, resource: str, sync_log) -> SyncOutcome:
        from apps.accounting.services.sync import resource_sync

        return resource_sync(provider=self, resource=resource, sync_log=sync_log)

    def backfill(self, *, since: dt.date, resources: Sequence[str]) -> list[str]:
        from apps.accounting.services.backfill import accounting_backfill

        counts = accounting_backfill(
            connection=self.connection, since=since, resources=list(resources)
        )
        return [count.sentence() for count in counts]
