"""The Xero adapter: the real xero-python over HTTP to Prism serving Xero's official spec."""

import datetime as dt
import json
import time
from decimal import Decimal

import pytest

from apps.accounting.providers.base import (
    BatchEntry,
    CustomerFields,
    InvoiceDraft,
    InvoiceLineDraft,
    ItemDraft,
    MoneyLineDraft,
    PaymentDraft,
    RefundDraft,
    SaleDraft,
)
from apps.accounting.providers.xero import XeroProvider
from apps.integrations.errors import RateLimited, RejectedError
from tests import factories as f
from tests.loopback import Canned, LoopbackServer
from tests.prism import Prism, prism_binary, vendor_spec

TENANT = "fe79f7dd-b6d4-4a92-ba7b-538af6289c58"


@pytest.fixture(scope="session")
def xero_prism():
    binary = prism_binary()
    accounting = vendor_spec("xero/xero_accounting.yaml")
    identity = vendor_spec("xero/xero-identity.prism-fixed.json")
    if binary is None:
        pytest.skip(
            "Prism is not installed: npm install --prefix .tools @stoplight/prism-cli@5.14.2"
        )
    if accounting is None or identity is None:
        pytest.skip(
            "Xero's OpenAPI documents are missing: ../shared/vendor-specs/xero is not present"
        )
    servers = [Prism(binary, accounting), Prism(binary, identity)]
    try:
        for server in servers:
            server.wait()
        yield {"accounting": servers[0].url, "identity": servers[1].url}
    finally:
        for server in servers:
            server.stop()


def _credentials(**extra):
    return {
        "client_id": "XEROCLIENTID0001",
        "client_secret": "xero-secret-value-0001",
        "access_token": "at-xero-0001",
        "refresh_token": "rt-xero-0001",
        "access_token_expires_at": time.time() + 1800,
        **extra,
    }


@pytest.fixture
def xero(business, xero_prism, settings):
    settings.XERO_IDENTITY_URL = xero_prism["identity"]
    settings.INTEGRATIONS_HTTP_READ_TIMEOUT = 60.0  # Prism validates against a 900 KB spec
    connection = f.IntegrationConnectionFactory(
        business=business,
        provider="xero",
        name="Xero books",
        api_base_url=xero_prism["accounting"],
        external_account_id=TENANT,
        credentials=_credentials(),
        status="connected",
    )
    return XeroProvider(connection)


def _draft(number="INV-0001"):
    return InvoiceDraft(
        number=number,
        customer_remote_id="bd2270c3-8706-4c11-9cfb-000b551c3f51",
        issued_on=dt.date(2026, 11, 20),
        due_date=dt.date(2026, 12, 20),
        lines=(
            InvoiceLineDraft(
                description="Tune-up",
                quantity=Decimal("1"),
                unit_price=Decimal("129.5000"),
                amount=Decimal("129.50"),
                item_code="SVC-HVAC",
                account_code="200",
                tracking=(("Service type", "HVAC"),),
            ),
        ),
        work_order_number="WO-000042",
        technician_name="Pat Smith",
        completed_on=dt.date(2026, 11, 19),
    )


@pytest.mark.django_db
def test_the_organisation_answers(xero):
    check = xero.test_connection()

    assert check.ok and check.account_name


@pytest.mark.django_db
def test_contacts_are_created_with_an_idempotency_key_and_read_back(xero):
    created = xero.customer_create(
        fields=CustomerFields(
            display_name="Dana Whitfield", email="dana@example.com", phone="+13035550123"
        ),
        key="0b3bfa58-7d21-5c1c-9a3e-1b1f0c3c9d11",
    )
    everyone = xero.customers_all()
    found = xero.customer_find(display_name="Dana Whitfield")

    assert created.remote_id and everyone and found is not None
    assert all(c.version for c in everyone)  # UpdatedDateUTC stands in for a version


@pytest.mark.django_db
def test_invoices_go_with_summarize_errors_off_and_four_decimal_places(xero):
    results = xero.invoices_create(
        entries=[BatchEntry("1", _draft())], request_id="5e0b2f39-0a1e-5d8e-a0d5-3b0f1f8b0a01"
    )

    invoice = results["1"]
    assert invoice.remote_id and isinstance(invoice.total, Decimal)


@pytest.mark.django_db
def test_changes_are_read_since_a_time_page_by_page(xero):
    # Payments are not read from Prism: the spec's example for GET /Payments has "IsReconciled":
    # "false" (a string), which the SDK rightly refuses. The loopback test below covers them.
    changes = xero.changes_since(
        entities=["customers", "invoices"], since=dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    )

    assert changes.customers and changes.invoices is not None and changes.until.tzinfo is not None


def _xero_payment(n, status="AUTHORISED"):
    return {
        "PaymentID": f"00000000-0000-4000-8000-{n:012d}",
        "Date": "/Date(1763596800000+0000)/",
        "Amount": 50.0,
        "Reference": f"CHK {n}",
        "Status": status,
        "IsReconciled": False,
        "UpdatedDateUTC": "/Date(1763640000000+0000)/",
        "Invoice": {
            "InvoiceID": "fee7a2c8-0000-4000-8000-000000000001",
            "Contact": {"ContactID": "bd2270c3-8706-4c11-9cfb-000b551c3f51"},
        },
    }


@pytest.mark.django_db
def test_payment_changes_are_paged_with_if_modified_since_and_deletions_reported(business):
    with LoopbackServer() as server:
        server.queue(
            "/Payments",
            Canned(body={"Payments": [_xero_payment(n) for n in range(100)]}),
            Canned(body={"Payments": [_xero_payment(100, status="DELETED")]}),
        )
        connection = f.IntegrationConnectionFactory(
            business=business,
            provider="xero",
            api_base_url=server.url,
            external_account_id=TENANT,
            credentials=_credentials(),
        )
        since = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC)

        changes = XeroProvider(connection).changes_since(entities=["payments"], since=since)

    assert len(changes.payments) == 100 and changes.payments[0].amount == Decimal("50.00")
    assert [(d.entity, d.remote_id) for d in changes.deletions] == [
        ("payment", _xero_payment(100)["PaymentID"])
    ]
    first, second = server.requests
    assert "page=1" in first.path and "page=2" in second.path
    assert first.headers["If-Modified-Since"].startswith("2026-11-20T09:30:00")


@pytest.mark.django_db
def test_items_and_accounts_round_trip(xero):
    item = xero.item_create(
        draft=ItemDraft(
            name="HVAC service",
            kind="service",
            sku="SVC-HVAC",
            income_account_id="200",
            unit_price=Decimal("89.0000"),
        ),
        key="9a1c6b3e-1d2f-5c3b-8e7a-2f4d6c8b0e12",
    )
    accounts = xero.accounts()

    assert item.remote_id and xero.item_find(name="HVAC service", code="SVC-HVAC") is not None
    assert any(a.account_type == "Income" for a in accounts)
    assert xero.default_deposit_account(accounts) in {
        a.remote_id for a in accounts if a.subtype == "Bank"
    }


@pytest.mark.django_db
def test_a_payment_refused_in_the_answer_becomes_xeros_own_words(xero):
    # The spec's example answer to PUT /Payments carries a validation error, as Xero does for
    # an overpayment: it must surface as a per-record refusal, not as a success.
    draft = PaymentDraft(
        customer_remote_id="c1",
        amount=Decimal("50.00"),
        received_on=dt.date(2026, 11, 20),
        method="check",
        applied_to=(("fee7a2c8-0000-4000-8000-000000000001", Decimal("50.00")),),
        deposit_account_id="090",
    )

    with pytest.raises(RejectedError) as caught:
        xero.payment_create(draft=draft, key="7f0c2a9e-3b4d-5e6f-8a9b-0c1d2e3f4a5b")

    assert "Payment amount exceeds the amount outstanding" in str(caught.value)


@pytest.mark.django_db
def test_the_minute_limit_postpones_with_retry_after(business, settings):
    with LoopbackServer() as server:
        server.queue(
            "/Contacts",
            Canned(
                status=429,
                body={"Title": "Too many"},
                headers={"Retry-After": "23", "X-Rate-Limit-Problem": "minute"},
            ),
        )
        connection = f.IntegrationConnectionFactory(
            business=business,
            provider="xero",
            api_base_url=server.url,
            external_account_id=TENANT,
            credentials=_credentials(),
        )
        with pytest.raises(RateLimited) as caught:
            XeroProvider(connection).customers_all()

    assert caught.value.retry_after == 23 and caught.value.vendor_code == "minute"
    (request,) = server.requests  # no hidden retry by urllib3 inside the SDK

    assert request.headers["xero-tenant-id"] == TENANT


@pytest.mark.django_db
def test_an_expired_token_is_refreshed_under_our_lock_and_saved(business, xero_prism, settings):
    with LoopbackServer() as tokens:
        tokens.queue(
            "/connect/token",
            Canned(
                body={
                    "access_token": "at-xero-0002",
                    "refresh_token": "rt-xero-0002",
                    "expires_in": 1800,
                    "token_type": "Bearer",
                    "scope": "offline_access accounting.transactions",
                }
            ),
        )
        settings.XERO_TOKEN_URL = tokens.url + "/connect/token"
        connection = f.IntegrationConnectionFactory(
            business=business,
            provider="xero",
            api_base_url=xero_prism["accounting"],
            external_account_id=TENANT,
            credentials=_credentials(access_token_expires_at=time.time() - 5),
        )

        assert XeroProvider(connection).accounts()

    connection.refresh_from_db()
    assert connection.credentials["access_token"] == "at-xero-0002"
    assert connection.credentials["refresh_token"] == "rt-xero-0002"  # single-use: the new one kept
    form = tokens.requests[0].body.decode()
    assert "grant_type=refresh_token" in form and "refresh_token=rt-xero-0001" in form


@pytest.mark.django_db
def test_connecting_finds_the_organisation(business, xero_prism, settings):
    with LoopbackServer() as tokens:
        tokens.queue(
            "/connect/token",
            Canned(
                body={
                    "access_token": "at-new",
                    "refresh_token": "rt-new",
                    "expires_in": 1800,
                    "token_type": "Bearer",
                    "scope": "offline_access accounting.transactions",
                }
            ),
        )
        settings.XERO_TOKEN_URL = tokens.url + "/connect/token"
        settings.XERO_IDENTITY_URL = xero_prism["identity"]
        connection = f.IntegrationConnectionFactory(
            business=business, provider="xero", credentials={"client_id": "X", "client_secret": "Y"}
        )

        token_set, company = XeroProvider(connection).oauth_exchange(
            code="abc", redirect_uri="http://testserver/cb", params={}
        )

    assert (token_set.access_token, company.remote_id, company.name) == (
        "at-new",
        TENANT,
        "Demo Company (NZ)",
    )
    assert json.loads(json.dumps(token_set.as_credentials()))["refresh_token"] == "rt-new"


# --- after the first push: edits, voids, refunds, agreement receipts ---------------------------
INVOICE_ID = "fee7a2c8-0000-4000-8000-000000000001"


@pytest.mark.django_db
def test_an_edit_posts_the_invoice_with_its_id_against_the_spec(xero):
    remote = xero.invoice_update(
        remote_id=INVOICE_ID, version="", draft=_draft(), key="4c1b2f0e-8a7d-5b6c-9d0e-1f2a3b4c5d6e"
    )

    assert remote.remote_id and isinstance(remote.total, Decimal)


@pytest.mark.django_db
def test_a_refund_is_a_credit_note_and_a_payment_against_the_spec(xero):
    # The credit note passes the spec; the spec's example answer to PUT /Payments is Xero's
    # refusal of an overpayment, so the second step surfaces it in Xero's words.
    with pytest.raises(RejectedError) as caught:
        xero.refund_create(draft=_refund_draft(), key="1d2c3b4a-5f6e-5d7c-8b9a-0f1e2d3c4b5a")

    assert "Payment amount exceeds the amount outstanding" in str(caught.value)


@pytest.mark.django_db
def test_an_agreement_payment_is_an_invoice_paid_at_once_against_the_spec(xero):
    with pytest.raises(RejectedError) as caught:  # the same example answer as above
        xero.sale_create(draft=_sale_draft(), key="2e3d4c5b-6a7f-5e8d-9c0b-1a2f3e4d5c6b")

    assert "Payment amount exceeds the amount outstanding" in str(caught.value)


def _refund_draft():
    return RefundDraft(
        customer_remote_id="bd2270c3-8706-4c11-9cfb-000b551c3f51",
        invoice_remote_id=INVOICE_ID,
        invoice_number="INV-0001",
        amount=Decimal("40.00"),
        refunded_on=dt.date(2026, 11, 21),
        method="card",
        line=MoneyLineDraft(
            description="Refund on invoice INV-0001",
            amount=Decimal("40.00"),
            item_code="SVC-HVAC",
            account_code="200",
        ),
        from_account_id="090",
        reference="re_3Nx",
        reason="Part not needed",
    )


def _sale_draft():
    return SaleDraft(
        customer_remote_id="bd2270c3-8706-4c11-9cfb-000b551c3f51",
        amount=Decimal("19.00"),
        received_on=dt.date(2026, 11, 21),
        method="card",
        line=MoneyLineDraft(
            description="Comfort plan from 2026-11-01", amount=Decimal("19.00"), account_code="260"
        ),
        deposit_account_id="090",
        reference="in_1Abc",
        memo="Maintenance agreement: Comfort plan from 2026-11-01",
    )


def _xero_invoice(status):
    return {
        "Invoices": [
            {
                "InvoiceID": INVOICE_ID,
                "Type": "ACCREC",
                "InvoiceNumber": "INV-0001",
                "Status": status,
                "Total": 129.5,
                "AmountDue": 129.5,
                "UpdatedDateUTC": "/Date(1763640000000+0000)/",
                "Contact": {"ContactID": "bd2270c3-8706-4c11-9cfb-000b551c3f51"},
            }
        ]
    }


@pytest.mark.parametrize(("status", "sent"), [("AUTHORISED", "VOIDED"), ("DRAFT", "DELETED")])
@pytest.mark.django_db
def test_a_void_is_voided_or_for_a_draft_deleted(business, status, sent):
    with LoopbackServer() as server:
        server.queue(
            f"/Invoices/{INVOICE_ID}",
            Canned(body=_xero_invoice(status)),
            Canned(body=_xero_invoice(sent)),
        )
        connection = f.IntegrationConnectionFactory(
            business=business,
            provider="xero",
            api_base_url=server.url,
            external_account_id=TENANT,
            credentials=_credentials(),
        )

        remote = XeroProvider(connection).invoice_void(
            remote_id=INVOICE_ID, version="", key="3f4e5d6c-7b8a-5f9e-8d0c-1b2a3f4e5d6c"
        )

    read, post = server.requests
    assert (read.method, post.method) == ("GET", "POST")
    sent_invoice = json.loads(post.body)["Invoices"][0]
    assert (sent_invoice["InvoiceID"], sent_invoice["Status"]) == (INVOICE_ID, sent)
    assert "LineItems" not in sent_invoice
    assert post.headers["Idempotency-Key"] == "3f4e5d6c-7b8a-5f9e-8d0c-1b2a3f4e5d6c"
    assert remote.status == ("void" if sent == "VOIDED" else "deleted")


@pytest.mark.django_db
def test_a_refund_pays_out_the_credit_note_each_request_under_its_own_key(business):
    note_id = "aa000000-0000-4000-8000-000000000001"
    with LoopbackServer() as server:
        server.queue(
            "/CreditNotes",
            Canned(body={"CreditNotes": [{"CreditNoteID": note_id, "Type": "ACCRECCREDIT"}]}),
        )
        server.queue("/Payments", Canned(body={"Payments": [_xero_payment(1)]}))
        connection = f.IntegrationConnectionFactory(
            business=business,
            provider="xero",
            api_base_url=server.url,
            external_account_id=TENANT,
            credentials=_credentials(),
        )

        got = XeroProvider(connection).refund_create(
            draft=_refund_draft(), key="1d2c3b4a-5f6e-5d7c-8b9a-0f1e2d3c4b5a"
        )

    note, payment = server.requests
    sent_note = json.loads(note.body)["CreditNotes"][0]
    assert got == note_id
    line = sent_note["LineItems"][0]
    assert (sent_note["Type"], sent_note["Status"]) == ("ACCRECCREDIT", "AUTHORISED")
    assert (line["UnitAmount"], line["AccountCode"], line["ItemCode"]) == (40.0, "200", "SVC-HVAC")
    paid = json.loads(payment.body)
    assert paid["CreditNote"]["CreditNoteID"] == note_id and paid["Account"]["Code"] == "090"
    assert note.headers["Idempotency-Key"] == "1d2c3b4a-5f6e-5d7c-8b9a-0f1e2d3c4b5a"
    assert payment.headers["Idempotency-Key"] not in ("", note.headers["Idempotency-Key"])
