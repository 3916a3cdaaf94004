"""QuickBooks Online through python-quickbooks and intuit-oauth: this package (here and
client.py) is the only code importing them; payloads.py maps Intuit's JSON without the SDK.

SDK quirks handled here:
- The client talks through `session.request` with no timeout; we give it a requests session that
  carries the access token (the SDK adds the Bearer header itself) and our timeouts, instead of the
  OAuth2Session it builds (which also insists on https).
- It raises a generic exception for a 429 or a gateway's HTML 5xx ("Error reading json response"),
  losing the status and Retry-After; the client subclass checks the status first.
- Its object model serialises every default field, which defeats sparse updates and round-trips
  read-only fields (ej2/python-quickbooks#388); we send explicit JSON through the client's
  create/update/query/batch/cdc calls and parse answers as Decimal (`use_decimal=True`).
- `requestid` is passed on every write; the SDK's BatchManager cannot carry one (random bIds), so
  batches go through `make_request` with our own short bIds.
- Query strings are not escaped by the SDK (#319): `payloads.quote` escapes as Intuit documents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import ClassVar

import structlog
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from quickbooks import QuickBooks
from quickbooks import exceptions as qb_exc

from apps.accounting import conf
from apps.accounting.providers.base import (
    Account,
    AccountingProvider,
    BatchEntry,
    ChangeSet,
    Company,
    CustomerFields,
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
    Steps,
    TokenSet,
)
from apps.accounting.providers.quickbooks import payloads
from apps.accounting.providers.quickbooks.client import (
    AccessTokenExpired,
    BearerSession,
    Client,
    TimedAuthClient,
    dumps,
    fault_error,
    map_code_error,
    map_error,
    map_oauth_error,
    token_set,
)
from apps.accounting.providers.schema import QUICKBOOKS_CREDENTIALS, QUICKBOOKS_SETTINGS
from apps.integrations.activity import tracked
from apps.integrations.errors import AuthenticationError, RateLimited, RejectedError
from apps.integrations.providers import ConnectionCheck, RateLimitPolicy
from apps.integrations.ratelimit import Limiter, limiter_for

logger = structlog.get_logger(__name__)
PRODUCTION_API = "https://quickbooks.api.intuit.com/v3"
SANDBOX_API = "https://sandbox-quickbooks.api.intuit.com/v3"
MINOR_VERSION = 75  # 1-74 are retired since Aug 2025; pinned so payloads never shift under us
QUERY_PAGE = 1000
CDC_CAP = 1000


class QuickBooksProvider(AccountingProvider):
    key = "quickbooks"
    display_name = "QuickBooks Online"
    vendor_name = "QuickBooks"
    account_noun = "company (realm id)"
    settings_prefix = "QUICKBOOKS"
    default_base_url = PRODUCTION_API
    credential_fields = QUICKBOOKS_CREDENTIALS
    setting_fields = QUICKBOOKS_SETTINGS
    base_url_help = (
        "Where /v3/company/<realm>/... is served; /v3 is added when missing. Empty: Intuit's "
        "production or sandbox API, by the connection's environment."
    )
    # Intuit's limits are 500/min and 10/s per company, 10 in flight, 40 batches/min. The windows
    # are a little longer than Intuit's so our count and theirs (taken on arrival) never disagree.
    rate_limits = RateLimitPolicy(windows=((500, 60.5), (10, 1.1)), max_in_flight=10)
    batch_limits: ClassVar[RateLimitPolicy] = RateLimitPolicy(windows=((40, 60.5),))
    max_batch_size = 30
    max_lookback = dt.timedelta(days=29)  # change data capture reaches back 30 days

    # --- plumbing ------------------------------------------------------------------------------
    @classmethod
    def normalize_base_url(cls, url: str) -> str:
        # Every QuickBooks path starts with /v3; operators give the server's address.
        url = super().normalize_base_url(url)
        return url if not url or url.endswith("/v3") else f"{url}/v3"

    @property
    def base_url(self) -> str:
        if self.connection.api_base_url:
            return self.normalize_base_url(self.connection.api_base_url)
        return SANDBOX_API if self.connection.environment == "sandbox" else PRODUCTION_API

    def _auth_client(self, redirect_uri: str = "") -> AuthClient:
        client_id, secret = self._app_credentials()
        environment = (
            self.connection.setting("oauth_discovery_url")
            or conf.setting("QUICKBOOKS_OAUTH_DISCOVERY_URL")
            or self.connection.environment
        )
        # The constructor fetches Intuit's discovery document (a network call).
        return TimedAuthClient(client_id, secret, redirect_uri or "https://invalid/", environment)

    def _client(self) -> Client:
        from apps.accounting.services.oauth import connection_access_token

        token = connection_access_token(connection=self.connection, provider=self)
        client = Client(
            company_id=self.connection.external_account_id,
            minorversion=MINOR_VERSION,
            use_decimal=True,
        )
        client.api_url_v3 = client.sandbox_api_url_v3 = self.base_url
        client.session = BearerSession(token)
        return client

    def _call(self, operation: str, fn):
        try:
            with self._slot(), tracked(self.connection, operation, error_mapper=map_error):
                return fn(self._client())
        except AccessTokenExpired:
            from apps.accounting.services.oauth import connection_token_refresh

            connection_token_refresh(
                connection=self.connection,
                provider=self,
                seen_access_token=(self.connection.credentials or {}).get("access_token"),
            )
            with self.limiter.slot(), tracked(self.connection, operation, error_mapper=map_error):
                try:
                    return fn(self._client())
                except qb_exc.AuthorizationException as exc:
                    raise AuthenticationError(
                        "QuickBooks refused a freshly refreshed token. Reconnect QuickBooks.",
                        status_code=401,
                    ) from exc

    def _oauth_call(self, operation: str, fn, *, error_mapper=map_oauth_error):
        with tracked(self.connection, operation, error_mapper=error_mapper):
            return fn()

    def _url(self, client: QuickBooks, path: str) -> str:
        return f"{client.api_url}/company/{client.company_id}/{path}"

    def _query(self, text: str) -> list[dict]:
        entity = text.split(" FROM ", 1)[1].split()[0]
        rows, start = [], 1
        while True:
            page_text = f"{text} STARTPOSITION {start} MAXRESULTS {QUERY_PAGE}"
            answer = self._call(f"query {entity}", lambda c, q=page_text: c.query(q))
            page = answer.get("QueryResponse", {}).get(entity, [])
            rows.extend(page)
            if len(page) < QUERY_PAGE:
                return rows
            start += QUERY_PAGE

    @property
    def batch_limiter(self) -> Limiter:
        cached = getattr(self, "_batch_limiter", None)
        if cached is None:
            cached = self._batch_limiter = limiter_for(
                f"{self.connection.pk}:batch", self.batch_limits, max_wait=0.0
            )
        return cached

    def batch_available(self) -> bool:
        try:
            with self.batch_limiter.slot():
                return True
        except RateLimited:
            return False

    # --- connection ----------------------------------------------------------------------------
    def test_connection(self) -> ConnectionCheck:
        realm = self.connection.external_account_id
        answer = self._call(
            "GET companyinfo", lambda c: c.get(self._url(c, f"companyinfo/{realm}"))
        )
        name = answer.get("CompanyInfo", {}).get("CompanyName", "")
        return ConnectionCheck(ok=True, message=f"Connected to {name}.", account_name=name)

    def oauth_authorization_url(self, *, state: str, redirect_uri: str) -> str:
        auth = self._oauth_call("GET oauth discovery", lambda: self._auth_client(redirect_uri))
        return auth.get_authorization_url([Scopes.ACCOUNTING], state_token=state)

    def oauth_exchange(self, *, code, redirect_uri, params) -> tuple[TokenSet, Company]:
        realm = params.get("realmId", "")
        if not realm:
            raise RejectedError("QuickBooks did not say which company was connected (no realmId).")

        def exchange() -> AuthClient:
            auth = self._auth_client(redirect_uri)
            auth.get_bearer_token(code, realm_id=realm)
            return auth

        auth = self._oauth_call("POST oauth token (code)", exchange, error_mapper=map_code_error)
        return token_set(auth), Company(remote_id=realm)

    def oauth_refresh(self, *, refresh_token: str) -> TokenSet:
        def refresh() -> AuthClient:
            auth = self._auth_client()
            auth.refresh(refresh_token=refresh_token)
            return auth

        return token_set(self._oauth_call("POST oauth token (refresh)", refresh))

    # --- currency ------------------------------------------------------------------------------
    def home_currency(self) -> tuple[str, bool]:
        """The company's home currency and whether multicurrency is on (Preferences), read once
        per connection and kept in its settings (neither changes once a company has books)."""
        if home := self.connection.setting("home_currency"):
            return home, self.connection.setting("multicurrency")
        answer = self._call("GET preferences", lambda c: c.get(self._url(c, "preferences")))
        prefs = (answer.get("Preferences") or {}).get("CurrencyPrefs") or {}
        home = (prefs.get("HomeCurrency") or {}).get("value") or "USD"
        multi = bool(prefs.get("MultiCurrencyEnabled"))
        from apps.integrations.services import connection_settings_record

        connection_settings_record(
            connection=self.connection, values={"home_currency": home, "multicurrency": multi}
        )
        return home, multi

    def _currency(self, currency: str, what: str) -> dict:
        """CurrencyRef for a transaction not in the home currency (else nothing: QuickBooks
        takes the customer's currency). The exchange rate is QuickBooks' own for the date."""
        currency = (currency or "").upper()
        home, multi = self.home_currency()
        if not currency or currency == home:
            return {}
        if not multi:
            raise RejectedError(
                f"{what} is in {currency}, but the QuickBooks company keeps its books in {home} "
                "with multicurrency off. Turn on multicurrency in QuickBooks (Settings, Account "
                "and settings, Advanced, Currency), then retry."
            )
        return {"CurrencyRef": {"value": currency}}

    def default_deposit_account(self, accounts) -> str:
        # Undeposited Funds: where bookkeepers expect payments to wait for the bank deposit.
        funds = [a for a in accounts if a.subtype == "UndepositedFunds"]
        return funds[0].remote_id if funds else ""

    # --- reads ---------------------------------------------------------------------------------
    def accounts(self) -> list[Account]:
        return [
            Account(
                str(r["Id"]),
                r.get("Name", ""),
                r.get("AccountType", ""),
                r.get("AccountSubType", ""),
            )
            for r in self._query("SELECT * FROM Account")
        ]

    def customers_all(self) -> list[RemoteCustomer]:
        return [
            payloads.customer(r)
            for r in self._query("SELECT * FROM Customer WHERE Active IN (true, false)")
        ]

    def customer_find(self, *, display_name: str) -> RemoteCustomer | None:
        rows = self._query(
            f"SELECT * FROM Customer WHERE DisplayName = {payloads.quote(display_name)} "  # noqa: S608 (Intuit query; quote() escapes)
            "AND Active IN (true, false)"
        )
        return payloads.customer(rows[0]) if rows else None

    def customer_get(self, *, remote_id: str) -> RemoteCustomer:
        answer = self._call("GET customer", lambda c: c.get_single_object("Customer", remote_id))
        return payloads.customer(answer["Customer"])

    def item_get(self, *, remote_id: str) -> RemoteItem:
        answer = self._call("GET item", lambda c: c.get_single_object("Item", remote_id))
        return payloads.item(answer["Item"])

    def item_find(self, *, name: str, code: str = "") -> RemoteItem | None:
        rows = self._query(
            f"SELECT * FROM Item WHERE Name = {payloads.quote(name)} AND Active IN (true, false)"  # noqa: S608
        )
        return payloads.item(rows[0]) if rows else None

    def invoice_find(self, *, number: str) -> RemoteInvoice | None:
        rows = self._query(f"SELECT * FROM Invoice WHERE DocNumber = {payloads.quote(number)}")  # noqa: S608
        return payloads.invoice(rows[0]) if rows else None

    def changes_since(self, *, entities: Sequence[str], since: dt.datetime) -> ChangeSet:
        names = [payloads.ENTITY_NAMES[e] for e in entities]
        answer = self._call(
            "GET cdc",
            lambda c: c.change_data_capture(",".join(names), since.isoformat(timespec="seconds")),
        )
        found: dict[str, list] = {"Customer": [], "Invoice": [], "Payment": [], "Item": []}
        deletions, count, latest = [], 0, None
        for response in (answer.get("CDCResponse") or [{}])[0].get("QueryResponse", []):
            for name in names:
                for row in response.get(name, []):
                    count += 1
                    when = payloads.parse_time((row.get("MetaData") or {}).get("LastUpdatedTime"))
                    latest = max(latest, when) if latest and when else (when or latest)
                    if row.get("status") == "Deleted":
                        entity = next(k for k, v in payloads.ENTITY_NAMES.items() if v == name)
                        deletions.append(RemoteDeletion(entity[:-1], str(row["Id"]), when))
                    else:
                        found[name].append(row)
        truncated = count >= CDC_CAP
        server_time = payloads.parse_time(answer.get("time")) or dt.datetime.now(tz=dt.UTC)
        if truncated:
            # CDC answers at most 1,000 objects and cannot page. The live records are read
            # completely with paged queries on LastUpdatedTime instead; deletions exist only in
            # CDC, so the cursor moves to the last change CDC showed and the next pull reads the
            # deletions after it (an upsert makes re-reading the records harmless).
            for name in names:
                found[name] = self._changed_rows(name, since)
            if latest is None or latest <= since:
                # More than 1,000 changes within one second: CDC cannot get past it.
                logger.warning("quickbooks_cdc_stuck", since=since.isoformat())
                truncated, latest = False, server_time
        return ChangeSet(
            until=(latest or since) if truncated else server_time,
            customers=tuple(payloads.customer(r) for r in found["Customer"]),
            invoices=tuple(payloads.invoice(r) for r in found["Invoice"]),
            payments=tuple(payloads.payment(r) for r in found["Payment"]),
            deletions=tuple(deletions),
            truncated=truncated,
        )

    def _changed_rows(self, name: str, since: dt.datetime) -> list[dict]:
        when = payloads.quote(since.isoformat(timespec="seconds"))
        active = " AND Active IN (true, false)" if name in ("Customer", "Item") else ""
        return self._query(
            f"SELECT * FROM {name} WHERE MetaData.LastUpdatedTime >= {when}{active} "  # noqa: S608 (Intuit query; quote() escapes)
            "ORDERBY MetaData.LastUpdatedTime"
        )

    # --- writes --------------------------------------------------------------------------------
    def customer_create(self, *, fields: CustomerFields, key: str) -> RemoteCustomer:
        # A customer's currency is fixed at creation: the business's, when that is not the home
        # currency of a multicurrency company (else its invoices would be refused later).
        body = payloads.customer_body(fields)
        currency = self.connection.business.currency.upper()
        if currency != self.home_currency()[0] and self.home_currency()[1]:
            body["CurrencyRef"] = {"value": currency}
        body = dumps(body)
        answer = self._call(
            "POST customer", lambda c: c.create_object("Customer", body, request_id=key)
        )
        return payloads.customer(answer["Customer"])

    supports_sub_customers = True

    def sub_customer_create(
        self, *, parent_remote_id: str, fields: CustomerFields, key: str
    ) -> RemoteCustomer:
        body = payloads.customer_body(fields)
        # Intuit: a sub-customer is a Customer with Job=true and ParentRef; BillWithParent sends
        # its invoices' statements to the parent (the property manager, the owner).
        body.update({"ParentRef": {"value": parent_remote_id}, "Job": True, "BillWithParent": True})
        answer = self._call(
            "POST customer (sub-customer)",
            lambda c: c.create_object("Customer", dumps(body), request_id=key),
        )
        return payloads.customer(answer["Customer"])

    def customer_update(self, *, remote_id, version, fields, changed, key) -> RemoteCustomer:
        body = {"Id": remote_id, "SyncToken": version, "sparse": True}
        body.update(payloads.customer_body(fields, changed))
        answer = self._call(
            "POST customer (sparse update)",
            lambda c: c.update_object("Customer", dumps(body), request_id=key),
        )
        return payloads.customer(answer["Customer"])

    def _item_body(self, draft: ItemDraft) -> dict:
        return payloads.item_body(draft)

    def item_create(self, *, draft: ItemDraft, key: str) -> RemoteItem:
        body = dumps(self._item_body(draft))
        answer = self._call("POST item", lambda c: c.create_object("Item", body, request_id=key))
        return payloads.item(answer["Item"])

    def item_update(
        self, *, remote_id: str, version: str, draft: ItemDraft, key: str
    ) -> RemoteItem:
        body = {"Id": remote_id, "SyncToken": version, "sparse": True, "Active": True}
        body.update({k: v for k, v in self._item_body(draft).items() if k != "Type"})
        answer = self._call(
            "POST item (sparse update)",
            lambda c: c.update_object("Item", dumps(body), request_id=key),
        )
        return payloads.item(answer["Item"])

    def _invoice_body(self, draft: InvoiceDraft) -> dict:
        body = payloads.invoice_body(draft, self.connection.setting("custom_fields"))
        body.update(self._currency(draft.currency, f"Invoice {draft.number}"))
        return body

    def invoices_create(self, *, entries: Sequence[BatchEntry], request_id: str):
        if len(entries) == 1:
            body = dumps(self._invoice_body(entries[0].draft))
            answer = self._call(
                "POST invoice", lambda c: c.create_object("Invoice", body, request_id=request_id)
            )
            return {entries[0].item_id: payloads.invoice(answer["Invoice"])}
        results: dict[str, RemoteInvoice | Exception] = {}
        items = []
        for e in entries:
            try:
                items.append(
                    {
                        "bId": e.item_id,
                        "operation": "create",
                        "Invoice": self._invoice_body(e.draft),
                    }
                )
            except RejectedError as exc:  # this record only; the batch goes without it
                results[e.item_id] = exc
        if not items:
            return results
        batch = {"BatchItemRequest": items}
        answer = self._call(
            f"POST batch ({len(entries)} invoices)",
            lambda c: c.make_request(
                "POST", self._url(c, "batch"), dumps(batch), request_id=request_id
            ),
        )
        for item in answer.get("BatchItemResponse", []):
            bid = str(item.get("bId", ""))
            results[bid] = (
                fault_error(item["Fault"]) if "Fault" in item else payloads.invoice(item["Invoice"])
            )
        return results

    def _payment_method_id(self, method: str) -> str:
        cached = getattr(self, "_payment_methods", None)
        if cached is None:
            rows = self._query("SELECT * FROM PaymentMethod")
            cached = self._payment_methods = {r.get("Name", "").lower(): str(r["Id"]) for r in rows}
        for name in payloads.PAYMENT_METHOD_NAMES.get(method, ()):
            if name.lower() in cached:
                return cached[name.lower()]
        return ""

    def payment_create(self, *, draft: PaymentDraft, key: str) -> RemotePayment:
        body: dict = {
            "CustomerRef": {"value": draft.customer_remote_id},
            "TotalAmt": draft.amount,
            "TxnDate": draft.received_on.isoformat(),
            "Line": [
                {"Amount": amount, "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}
                for invoice_id, amount in draft.applied_to
            ],
        }
        if draft.reference:
            body["PaymentRefNum"] = draft.reference[:21]
        if draft.deposit_account_id:
            body["DepositToAccountRef"] = {"value": draft.deposit_account_id}
        body.update(self._currency(draft.currency, f"The payment of {draft.amount}"))
        method_id = self._payment_method_id(draft.method)
        if method_id:
            body["PaymentMethodRef"] = {"value": method_id}
        answer = self._call(
            "POST payment", lambda c: c.create_object("Payment", dumps(body), request_id=key)
        )
        return payloads.payment(answer["Payment"])

    # --- after the first push --------------------------------------------------------------------
    def invoice_get(self, *, remote_id: str) -> RemoteInvoice:
        answer = self._call("GET invoice", lambda c: c.get_single_object("Invoice", remote_id))
        return payloads.invoice(answer["Invoice"])

    def invoice_update(
        self, *, remote_id: str, version: str, draft: InvoiceDraft, key: str
    ) -> RemoteInvoice:
        body = {"Id": remote_id, "SyncToken": version, "sparse": True}
        body.update(payloads.invoice_update_body(self._invoice_body(draft)))
        answer = self._call(
            "POST invoice (sparse update)",
            lambda c: c.update_object("Invoice", dumps(body), request_id=key),
        )
        return payloads.invoice(answer["Invoice"])

    def invoice_void(self, *, remote_id: str, version: str, key: str) -> RemoteInvoice:
        # Intuit: POST /invoice?operation=void with Id and SyncToken; the invoice stays, at zero.
        body = dumps({"Id": remote_id, "SyncToken": version})
        answer = self._call(
            "POST invoice (void)",
            lambda c: c.update_object(
                "Invoice", body, request_id=key, params={"operation": "void"}
            ),
        )
        return payloads.invoice(answer["Invoice"])

    # One document each (RefundReceipt, SalesReceipt): a single request, so no steps to keep.
    def refund_create(self, *, draft: RefundDraft, key: str, steps: Steps | None = None) -> str:
        body = payloads.refund_receipt_body(draft, self._payment_method_id(draft.method))
        body.update(self._currency(draft.currency, f"The refund of {draft.amount}"))
        answer = self._call(
            "POST refundreceipt",
            lambda c: c.create_object("RefundReceipt", dumps(body), request_id=key),
        )
        return str(answer["RefundReceipt"]["Id"])

    def sale_create(self, *, draft: SaleDraft, key: str, steps: Steps | None = None) -> str:
        body = payloads.sales_receipt_body(draft, self._payment_method_id(draft.method))
        body.update(self._currency(draft.currency, f"The receipt of {draft.amount}"))
        answer = self._call(
            "POST salesreceipt",
            lambda c: c.create_object("SalesReceipt", dumps(body), request_id=key),
        )
        return str(answer["SalesReceipt"]["Id"])
