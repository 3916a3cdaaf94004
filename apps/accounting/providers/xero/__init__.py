"""Xero through xero-python: this package (here and mapping.py) is the only code importing it.

SDK quirks handled here:
- The SDK refreshes tokens by itself through global getter/saver hooks, with no locking. We hand it
  a token without a refresh token (so it can never refresh on its own) and refresh under our row
  lock (services.oauth) before calls; the token endpoint is a class constant, so the refresh goes
  through a TokenApi instance whose URL comes from our settings.
- Accounts are referenced by Code, items by Code (at most 30 characters), contacts by ContactID.
- Multi-record writes use summarize_errors=SUMMARIZE_OFF, so one bad invoice comes back with its own
  validation errors instead of failing the other 49; unitdp=4 keeps four-decimal unit prices.
- Idempotency-Key goes on every write (at most 128 characters; ours are 36). Refunds and agreement
  receipts are two requests (a document, then its payment); the document's id is kept in `steps`
  so a retry sends only the payment (see _two_steps).
- Changes are read with If-Modified-Since, 100 per page, until a short page.
- Booleans in query strings are sent as "true"/"false" (the SDK would send "True"), and enum
  fields take the SDK's enums; urllib3's hidden retries are turned off (see _api_client).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Sequence
from typing import ClassVar
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from xero_python.accounting import AccountingApi
from xero_python.accounting import models as xm
from xero_python.api_client import ApiClient, Configuration
from xero_python.api_client.oauth2 import OAuth2Token, TokenApi
from xero_python.identity import IdentityApi

from apps.accounting import conf
from apps.accounting.providers.base import (
    Account,
    AccountingProvider,
    BatchEntry,
    ChangeSet,
    Company,
    CustomerFields,
    DuplicateDocument,
    InvoiceDraft,
    ItemDraft,
    PaymentDraft,
    RefundDraft,
    RemoteCustomer,
    RemoteDeletion,
    RemoteInvoice,
    RemoteItem,
    RemotePayment,
    SaleDraft,
    SignInCodeRefused,
    Steps,
    TokenSet,
)
from apps.accounting.providers.schema import XERO_CREDENTIALS, XERO_SETTINGS
from apps.accounting.providers.xero import mapping
from apps.integrations.activity import tracked
from apps.integrations.errors import RejectedError, TemporaryError
from apps.integrations.http import ApiClient as HttpClient
from apps.integrations.providers import ConnectionCheck, RateLimitPolicy

API_PATH = "/api.xro/2.0"
PRODUCTION_API = "https://api.xero.com" + API_PATH
# The SDK puts str(True) ("True") in query strings; the spec (and Prism) want "true"/"false".
TRUE, SUMMARIZE_OFF = "true", "false"
PAGE = 100
UNITDP = 4
SCOPES = "offline_access openid profile email accounting.transactions accounting.contacts accounting.settings"


def _unreadable_too(exc: BaseException):
    mapped = mapping.map_error(exc)
    if mapped is None and isinstance(exc, ValueError | KeyError | TypeError | AttributeError):
        mapped = TemporaryError("Xero sent an answer that cannot be read")
    return mapped


class XeroProvider(AccountingProvider):
    key = "xero"
    display_name = "Xero"
    vendor_name = "Xero"
    account_noun = "organisation (tenant id)"
    settings_prefix = "XERO"
    default_base_url = PRODUCTION_API
    credential_fields = XERO_CREDENTIALS
    setting_fields = XERO_SETTINGS
    base_url_help = (
        "Where the Accounting API's paths (/Invoices, /Contacts...) are served. On Xero's own "
        "hosts /api.xro/2.0 is added when missing; a test server's path is kept as given. "
        "Empty: https://api.xero.com/api.xro/2.0."
    )
    # 60 calls a minute, 5 in flight and 5,000 a day per organisation: a wait for the daily window
    # exceeds the limiter's patience and postpones the task to the next window (RateLimited).
    rate_limits = RateLimitPolicy(windows=((60, 60.5), (5000, 86_400.0)), max_in_flight=5)
    max_batch_size = 50  # Xero's advice: about 50 elements per request
    customer_fields_supported: ClassVar[frozenset[str]] = frozenset(
        set(CustomerFields.__dataclass_fields__) - {"company_name"}
    )

    @classmethod
    def normalize_base_url(cls, url: str) -> str:
        url = super().normalize_base_url(url)
        host = urlsplit(url).hostname or ""
        if (host == "xero.com" or host.endswith(".xero.com")) and not url.endswith(API_PATH):
            url = url.removesuffix("/api.xro") + API_PATH
        return url

    def _timeout(self) -> tuple[float, float]:
        return (settings.INTEGRATIONS_HTTP_CONNECT_TIMEOUT, settings.INTEGRATIONS_HTTP_READ_TIMEOUT)

    def _api_client(self, access_token: str | None = None) -> ApiClient:
        client_id, secret = self._app_credentials()
        token = {
            "access_token": access_token or "",
            "refresh_token": None,  # never let the SDK refresh on its own (no lock there)
            "scope": SCOPES.split(),
            "expires_in": 1800,
            "expires_at": time.time() + 1800,
            "token_type": "Bearer",
        }
        client = ApiClient(
            Configuration(oauth2_token=OAuth2Token(client_id=client_id, client_secret=secret)),
            pool_threads=1,
        )
        # urllib3 (under the SDK) retries a GET answered 429/503 with Retry-After by sleeping that
        # long, in the worker: hours for Xero's daily limit. Our limiter and tasks decide instead.
        client.rest_client.pool_manager.connection_pool_kw["retries"] = False
        client.oauth2_token_getter(lambda: token)
        client.oauth2_token_saver(lambda new: token.update(new))
        return client

    def _accounting(self) -> AccountingApi:
        from apps.accounting.services.oauth import connection_access_token

        token = connection_access_token(connection=self.connection, provider=self)
        return AccountingApi(self._api_client(token), base_url=self.base_url)

    def _call(self, operation: str, fn):
        with self._slot(), tracked(self.connection, operation, error_mapper=mapping.map_error):
            return fn(self._accounting(), self.connection.external_account_id)

    def _pages(self, operation: str, fn, attr: str) -> list:
        rows, page = [], 1
        while True:
            answer = self._call(f"{operation} (page {page})", lambda api, t, p=page: fn(api, t, p))
            batch = getattr(answer, attr) or []
            rows.extend(batch)
            if len(batch) < PAGE:
                return rows
            page += 1

    # --- connection and OAuth -------------------------------------------------------------------
    def test_connection(self) -> ConnectionCheck:
        answer = self._call(
            "GET organisation",
            lambda api, t: api.get_organisations(t, _request_timeout=self._timeout()),
        )
        name = answer.organisations[0].name if answer.organisations else ""
        return ConnectionCheck(ok=True, message=f"Connected to {name}.", account_name=name or "")

    def oauth_authorization_url(self, *, state: str, redirect_uri: str) -> str:
        client_id, _ = self._app_credentials()
        query = {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": state,
        }
        return f"{conf.setting('XERO_AUTHORIZE_URL')}?{urlencode(query)}"

    def oauth_exchange(self, *, code, redirect_uri, params) -> tuple[TokenSet, Company]:
        client_id, secret = self._app_credentials()
        http = HttpClient(self.connection, base_url=conf.setting("XERO_TOKEN_URL"))
        try:
            response = http.post(
                conf.setting("XERO_TOKEN_URL"),
                data={
                    "grant_type": "authorization_code",
                    "code": code,
                    "redirect_uri": redirect_uri,
                },
                auth=(client_id, secret),
                operation="POST xero token (code)",
            )
        except RejectedError as exc:
            if "invalid_grant" in str(exc):
                raise SignInCodeRefused(
                    "Xero refused the sign-in code (invalid_grant)", vendor_code="invalid_grant"
                ) from exc
            raise
        try:
            tokens = mapping.token_set(response.json())
        except (ValueError, KeyError, TypeError) as exc:
            raise TemporaryError(
                "Xero's sign-in service sent an answer that cannot be read", status_code=502
            ) from exc
        identity = IdentityApi(
            self._api_client(tokens.access_token),
            base_url=conf.setting("XERO_IDENTITY_URL").rstrip("/"),
        )
        with tracked(self.connection, "GET xero connections", error_mapper=_unreadable_too):
            tenants = list(identity.get_connections(_request_timeout=self._timeout()) or [])
        organisations = [
            t for t in tenants if str(t.tenant_type).upper().endswith("ORGANISATION")
        ] or tenants
        if not organisations:
            raise RejectedError(
                "The Xero sign-in gave access to no organisation (or Xero's list of them could "
                "not be read); choose an organisation when Xero asks"
            )
        chosen = next(
            (t for t in organisations if str(t.tenant_id) == self.connection.external_account_id),
            organisations[0],
        )
        return tokens, Company(remote_id=str(chosen.tenant_id), name=chosen.tenant_name or "")

    def oauth_refresh(self, *, refresh_token: str) -> TokenSet:
        client_id, secret = self._app_credentials()
        token_api = TokenApi(self._api_client(), client_id, secret)
        token_api.refresh_token_url = conf.setting("XERO_TOKEN_URL")  # a class constant upstream
        with tracked(self.connection, "POST xero token (refresh)", error_mapper=mapping.map_error):
            return mapping.token_set(token_api.refresh_token(refresh_token, SCOPES.split()))

    # --- reads -----------------------------------------------------------------------------------
    def accounts(self) -> list[Account]:
        answer = self._call(
            "GET accounts", lambda api, t: api.get_accounts(t, _request_timeout=self._timeout())
        )
        return [mapping.account(a) for a in answer.accounts or []]

    def default_deposit_account(self, accounts: Sequence[Account]) -> str:
        banks = [a for a in accounts if a.subtype == "Bank"]
        return banks[0].remote_id if banks else ""

    def customers_all(self) -> list[RemoteCustomer]:
        rows = self._pages(
            "GET contacts",
            lambda api, t, p: api.get_contacts(
                t, page=p, page_size=PAGE, include_archived=TRUE, _request_timeout=self._timeout()
            ),
            "contacts",
        )
        return [mapping.customer(c) for c in rows]

    def customer_find(self, *, display_name: str) -> RemoteCustomer | None:
        where = 'Name=="{}"'.format(display_name.replace('"', '\\"'))
        answer = self._call(
            "GET contacts (by name)",
            lambda api, t: api.get_contacts(
                t, where=where, include_archived=TRUE, _request_timeout=self._timeout()
            ),
        )
        return mapping.customer(answer.contacts[0]) if answer.contacts else None

    def customer_get(self, *, remote_id: str) -> RemoteCustomer:
        answer = self._call(
            "GET contact",
            lambda api, t: api.get_contact(t, remote_id, _request_timeout=self._timeout()),
        )
        return mapping.customer(answer.contacts[0])

    def item_get(self, *, remote_id: str) -> RemoteItem:
        answer = self._call(
            "GET item",
            lambda api, t: api.get_item(
                t, remote_id, unitdp=UNITDP, _request_timeout=self._timeout()
            ),
        )
        return mapping.item(answer.items[0])

    def item_find(self, *, name: str, code: str = "") -> RemoteItem | None:
        where = 'Code=="{}"'.format((code or name).replace('"', '\\"'))
        answer = self._call(
            "GET items (by code)",
            lambda api, t: api.get_items(
                t, where=where, unitdp=UNITDP, _request_timeout=self._timeout()
            ),
        )
        return mapping.item(answer.items[0]) if answer.items else None

    def invoice_find(self, *, number: str) -> RemoteInvoice | None:
        answer = self._call(
            "GET invoices (by number)",
            lambda api, t: api.get_invoices(
                t, invoice_numbers=[number], unitdp=UNITDP, _request_timeout=self._timeout()
            ),
        )
        return mapping.invoice(answer.invoices[0]) if answer.invoices else None

    def changes_since(self, *, entities: Sequence[str], since: dt.datetime) -> ChangeSet:
        started = dt.datetime.now(tz=dt.UTC)
        found: dict[str, tuple] = {"customers": (), "invoices": (), "payments": ()}
        deletions: list[RemoteDeletion] = []
        if "customers" in entities:
            rows = self._pages(
                "GET contacts (changed)",
                lambda api, t, p: api.get_contacts(
                    t,
                    if_modified_since=since,
                    page=p,
                    page_size=PAGE,
                    include_archived=TRUE,
                    _request_timeout=self._timeout(),
                ),
                "contacts",
            )
            found["customers"] = tuple(mapping.customer(c) for c in rows)
        if "invoices" in entities:
            found["invoices"] = self._split_deleted(
                "invoice",
                mapping.invoice,
                deletions,
                self._pages(
                    "GET invoices (changed)",
                    lambda api, t, p: api.get_invoices(
                        t,
                        if_modified_since=since,
                        page=p,
                        page_size=PAGE,
                        unitdp=UNITDP,
                        _request_timeout=self._timeout(),
                    ),
                    "invoices",
                ),
            )
        if "payments" in entities:
            found["payments"] = self._split_deleted(
                "payment",
                mapping.payment,
                deletions,
                self._pages(
                    "GET payments (changed)",
                    lambda api, t, p: api.get_payments(
                        t,
                        if_modified_since=since,
                        page=p,
                        page_size=PAGE,
                        _request_timeout=self._timeout(),
                    ),
                    "payments",
                ),
            )
        return ChangeSet(until=started, deletions=tuple(deletions), **found)

    @staticmethod
    def _split_deleted(kind: str, to_record, deletions: list, objects) -> tuple:
        """Xero reports deletions as status DELETED: those become RemoteDeletions, the rest records."""
        rows = [to_record(o) for o in objects]
        deletions += [
            RemoteDeletion(kind, r.remote_id, r.updated_at) for r in rows if r.status == "deleted"
        ]
        return tuple(r for r in rows if r.status != "deleted")

    # --- writes ----------------------------------------------------------------------------------
    def customer_create(self, *, fields: CustomerFields, key: str) -> RemoteCustomer:
        answer = self._call(
            "POST contacts",
            lambda api, t: api.create_contacts(
                t,
                xm.Contacts(contacts=[mapping.contact(fields)]),
                summarize_errors=SUMMARIZE_OFF,
                idempotency_key=key,
                _request_timeout=self._timeout(),
            ),
        )
        return mapping.customer(mapping.only(answer.contacts))

    def customer_update(self, *, remote_id, version, fields, changed, key) -> RemoteCustomer:
        answer = self._call(
            "POST contact (update)",
            lambda api, t: api.update_contact(
                t,
                remote_id,
                xm.Contacts(contacts=[mapping.contact(fields, remote_id)]),
                idempotency_key=key,
                _request_timeout=self._timeout(),
            ),
        )
        return mapping.customer(mapping.only(answer.contacts))

    def item_create(self, *, draft: ItemDraft, key: str) -> RemoteItem:
        answer = self._call(
            "POST items",
            lambda api, t: api.create_items(
                t,
                xm.Items(items=[mapping.item_model(draft)]),
                summarize_errors=SUMMARIZE_OFF,
                unitdp=UNITDP,
                idempotency_key=key,
                _request_timeout=self._timeout(),
            ),
        )
        return mapping.item(mapping.only(answer.items))

    def item_update(self, *, remote_id, version, draft, key) -> RemoteItem:
        answer = self._call(
            "POST item (update)",
            lambda api, t: api.update_item(
                t,
                remote_id,
                xm.Items(items=[mapping.item_model(draft, remote_id)]),
                unitdp=UNITDP,
                idempotency_key=key,
                _request_timeout=self._timeout(),
            ),
        )
        return mapping.item(mapping.only(answer.items))

    def invoices_create(self, *, entries: Sequence[BatchEntry], request_id: str):
        answer = self._call(
            f"POST invoices ({len(entries)})",
            lambda api, t: api.create_invoices(
                t,
                xm.Invoices(invoices=[mapping.invoice_model(e.draft) for e in entries]),
                summarize_errors=SUMMARIZE_OFF,
                unitdp=UNITDP,
                idempotency_key=request_id,
                _request_timeout=self._timeout(),
            ),
        )
        results: dict[str, RemoteInvoice | Exception] = {}
        # Xero answers in request order, one element per invoice sent.
        for entry, invoice in zip(entries, answer.invoices or [], strict=False):
            errors = [e.message for e in invoice.validation_errors or [] if e.message]
            if invoice.has_errors or errors:
                text = "Xero refused it: " + "; ".join(errors)
                results[entry.item_id] = (
                    DuplicateDocument if "must be unique" in text.lower() else RejectedError
                )(text)
            else:
                results[entry.item_id] = mapping.invoice(invoice)
        return results

    def payment_create(self, *, draft: PaymentDraft, key: str) -> RemotePayment:
        invoice_id, amount = draft.applied_to[0]
        payment = xm.Payment(
            invoice=xm.Invoice(invoice_id=invoice_id),
            account=xm.Account(code=draft.deposit_account_id),
            date=draft.received_on,
            amount=amount,
            reference=draft.reference or None,
        )
        answer = self._call(
            "PUT payment",
            lambda api, t: api.create_payment(
                t, payment, idempotency_key=key, _request_timeout=self._timeout()
            ),
        )
        return mapping.payment(mapping.only(answer.payments))

    # --- after the first push --------------------------------------------------------------------
    def invoice_get(self, *, remote_id: str) -> RemoteInvoice:
        return mapping.invoice(self._invoice_model(remote_id))

    def _invoice_model(self, remote_id: str) -> xm.Invoice:
        answer = self._call(
            "GET invoice",
            lambda api, t: api.get_invoice(
                t, remote_id, unitdp=UNITDP, _request_timeout=self._timeout()
            ),
        )
        return mapping.only(answer.invoices)

    def _invoice_post(self, operation: str, remote_id: str, invoice: xm.Invoice, key: str):
        answer = self._call(
            operation,
            lambda api, t: api.update_invoice(
                t,
                remote_id,
                xm.Invoices(invoices=[invoice]),
                unitdp=UNITDP,
                idempotency_key=key,
                _request_timeout=self._timeout(),
            ),
        )
        return mapping.invoice(mapping.only(answer.invoices))

    def invoice_update(
        self, *, remote_id: str, version: str, draft: InvoiceDraft, key: str
    ) -> RemoteInvoice:
        # Xero: POST the invoice with its InvoiceID; the line items sent replace the old ones.
        invoice = mapping.invoice_model(draft)
        invoice.invoice_id = remote_id
        invoice.status = None  # an edit leaves the status as it is
        return self._invoice_post("POST invoice (update)", remote_id, invoice, key)

    def invoice_void(self, *, remote_id: str, version: str, key: str) -> RemoteInvoice:
        # Xero voids an approved invoice (VOIDED) but deletes a draft one (DELETED).
        current = self._invoice_model(remote_id)
        status = str(current.status).rsplit(".", 1)[-1].upper()
        if status in ("VOIDED", "DELETED"):
            return mapping.invoice(current)
        target = "DELETED" if status in ("DRAFT", "SUBMITTED") else "VOIDED"
        invoice = xm.Invoice(invoice_id=remote_id, status=target)
        return self._invoice_post(f"POST invoice ({target.lower()})", remote_id, invoice, key)

    def _pay(self, operation: str, payment: xm.Payment, key: str) -> None:
        answer = self._call(
            operation,
            lambda api, t: api.create_payment(
                t, payment, idempotency_key=key, _request_timeout=self._timeout()
            ),
        )
        mapping.only(answer.payments)

    def _two_steps(self, *, steps: Steps | None, step: str, noun: str, key: str, create, pay):
        """A document, then a payment against it, resumable: the document's id is recorded in
        `steps` as soon as Xero answers, so a retry (automatic, a person's, after a crash) finds
        it and sends only the payment. A document whose answer was lost is not recorded, so the
        retry re-sends it under the same key and Xero replays its first answer."""
        steps = Steps() if steps is None else steps
        document_id = steps.get(step)
        if document_id is None:
            document_id = create(key)
            steps.record(step, remote_id=document_id, key=key)
        try:
            # The payment's key follows the write's: a re-send of this write replays it, while a
            # person's retry (a new revision, after a refusal) sends a fresh payment request.
            pay(document_id, _second_key(key))
        except RejectedError as exc:
            raise RejectedError(
                f"the {noun} was created in Xero but its payment was refused ({exc}). Once the "
                f"cause is fixed, retry: the retry pays this {noun} and creates no second one.",
                vendor_code=exc.vendor_code,
            ) from exc
        return document_id

    def refund_create(self, *, draft: RefundDraft, key: str, steps: Steps | None = None) -> str:
        """Xero's documented refund: a credit note (ACCRECCREDIT), then a payment against the
        credit note from the bank account the money leaves."""

        def create(key: str) -> str:
            answer = self._call(
                "PUT credit note",
                lambda api, t: api.create_credit_notes(
                    t,
                    xm.CreditNotes(credit_notes=[mapping.credit_note_model(draft)]),
                    summarize_errors=SUMMARIZE_OFF,
                    unitdp=UNITDP,
                    idempotency_key=key,
                    _request_timeout=self._timeout(),
                ),
            )
            return str(mapping.only(answer.credit_notes).credit_note_id)

        def pay(credit_note_id: str, key: str) -> None:
            payment = xm.Payment(
                credit_note=xm.CreditNote(credit_note_id=credit_note_id),
                account=xm.Account(code=draft.from_account_id),
                date=draft.refunded_on,
                amount=draft.amount,
                reference=draft.reference or None,
            )
            self._pay("PUT payment (refund)", payment, key)

        return self._two_steps(
            steps=steps, step="credit_note", noun="credit note", key=key, create=create, pay=pay
        )

    def sale_create(self, *, draft: SaleDraft, key: str, steps: Steps | None = None) -> str:
        """Xero has no sales receipt for customers: an approved invoice paid in full at once."""

        def create(key: str) -> str:
            answer = self._call(
                "PUT invoice (sale)",
                lambda api, t: api.create_invoices(
                    t,
                    xm.Invoices(invoices=[mapping.sale_invoice_model(draft)]),
                    summarize_errors=SUMMARIZE_OFF,
                    unitdp=UNITDP,
                    idempotency_key=key,
                    _request_timeout=self._timeout(),
                ),
            )
            return str(mapping.only(answer.invoices).invoice_id)

        def pay(invoice_id: str, key: str) -> None:
            payment = xm.Payment(
                invoice=xm.Invoice(invoice_id=invoice_id),
                account=xm.Account(code=draft.deposit_account_id),
                date=draft.received_on,
                amount=draft.amount,
                reference=draft.reference or None,
            )
            self._pay("PUT payment (sale)", payment, key)

        return self._two_steps(
            steps=steps, step="invoice", noun="invoice", key=key, create=create, pay=pay
        )


def _second_key(key: str) -> str:
    """The follow-up payment's own key: a re-send reuses both, so Xero replays both answers."""
    return str(uuid.uuid5(uuid.NAMESPACE_OID, f"{key}:payment"))
