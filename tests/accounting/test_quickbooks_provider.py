"""The QuickBooks adapter: the real python-quickbooks and intuit-oauth over HTTP to the fake."""

import datetime as dt
import time
from decimal import Decimal

import pytest

from apps.accounting.providers.base import (
    BatchEntry,
    CustomerFields,
    DuplicateName,
    InvoiceDraft,
    InvoiceLineDraft,
    ItemDraft,
    StaleObject,
)
from apps.accounting.providers.quickbooks import MINOR_VERSION
from apps.integrations.errors import RateLimited, RejectedError, TemporaryError
from apps.integrations.models import IntegrationActivity, Outcome

pytestmark = pytest.mark.django_db


def _income(books):
    return books.find("Account", Name="Services")["Id"]


def _draft(number, customer_id, item_id, amount="120.00"):
    return InvoiceDraft(
        number=number,
        customer_remote_id=customer_id,
        issued_on=dt.date(2026, 11, 20),
        lines=(
            InvoiceLineDraft(
                description="Tune-up",
                quantity=Decimal("1"),
                unit_price=Decimal(amount),
                amount=Decimal(amount),
                item_remote_id=item_id,
            ),
        ),
        work_order_number="WO-000042",
        technician_name="Pat Smith",
        completed_on=dt.date(2026, 11, 19),
    )


def test_create_find_and_sparse_update_a_customer(provider, books, qbo):
    fields = CustomerFields(display_name="O'Brien Heating", email="ob@example.com", city="Denver")
    created = provider.customer_create(fields=fields, key="k-create-1")

    found = provider.customer_find(display_name="O'Brien Heating")  # the quote is escaped
    assert found.remote_id == created.remote_id and found.fields.email == "ob@example.com"

    changed = CustomerFields(
        display_name="O'Brien Heating", email="new@example.com", city="Boulder"
    )
    updated = provider.customer_update(
        remote_id=created.remote_id,
        version=created.version,
        fields=changed,
        changed=["email"],
        key="k-upd-1",
    )
    row = books.rows["Customer"][created.remote_id]
    assert updated.version == "1"
    assert row["PrimaryEmailAddr"]["Address"] == "new@example.com"
    assert row["BillAddr"]["City"] == "Denver"  # sparse: the address was not sent, so it stayed
    assert {v for v in qbo.minor_versions if v} == {str(MINOR_VERSION)}


def test_the_same_request_id_is_answered_once_and_never_creates_twice(provider, books):
    fields = CustomerFields(display_name="Replay Co")
    first = provider.customer_create(fields=fields, key="same-key")
    again = provider.customer_create(fields=fields, key="same-key")

    assert again.remote_id == first.remote_id
    assert sum(1 for r in books.rows["Customer"].values() if r["DisplayName"] == "Replay Co") == 1


def test_a_display_name_used_by_a_vendor_is_a_duplicate_name(provider, books):
    books.insert("Vendor", {"DisplayName": "Acme Supply", "Active": True})

    with pytest.raises(DuplicateName) as caught:
        provider.customer_create(fields=CustomerFields(display_name="Acme Supply"), key="k-dup")
    assert caught.value.vendor_code == "6240"


def test_an_outdated_sync_token_is_a_stale_object(provider):
    created = provider.customer_create(fields=CustomerFields(display_name="Stale Ltd"), key="k-st")
    provider.customer_update(
        remote_id=created.remote_id,
        version=created.version,
        fields=CustomerFields(display_name="Stale Ltd", email="a@b.co"),
        changed=["email"],
        key="k-st-1",
    )

    with pytest.raises(StaleObject):
        provider.customer_update(
            remote_id=created.remote_id,
            version=created.version,
            fields=CustomerFields(display_name="Stale Ltd", email="c@d.co"),
            changed=["email"],
            key="k-st-2",
        )


def test_throttling_is_rate_limited_with_retry_after_and_counted(provider, qbo, qbo_connection):
    qbo.faults.inject("rate_limit", retry_after=7)

    with pytest.raises(RateLimited) as caught:
        provider.accounts()
    assert caught.value.retry_after == 7
    outcome = IntegrationActivity.objects.filter(connection=qbo_connection).latest("occurred_at")
    assert (outcome.outcome, outcome.status_code) == (Outcome.RATE_LIMITED, 429)


def test_a_gateway_error_page_is_temporary(provider, qbo):
    qbo.faults.inject("server_error")

    with pytest.raises(TemporaryError) as caught:
        provider.accounts()
    assert caught.value.status_code == 503


def test_an_unanswered_request_is_temporary_and_its_retry_replays(provider, qbo, books):
    qbo.faults.inject("timeout", path_contains="/customer")
    fields = CustomerFields(display_name="Slow Answer Inc")

    with pytest.raises(TemporaryError):
        provider.customer_create(fields=fields, key="k-timeout")
    again = provider.customer_create(fields=fields, key="k-timeout")  # same key: no second create

    assert [
        r["Id"] for r in books.rows["Customer"].values() if r["DisplayName"] == fields.display_name
    ] == [again.remote_id]


def test_an_expired_access_token_is_refreshed_once_and_the_call_repeated(
    provider, qbo, qbo_connection
):
    qbo.oauth.revoke_all()  # the stored access token no longer works...
    fresh = qbo.oauth.issue()  # ...but this refresh token does
    qbo_connection.credentials = {
        **qbo_connection.credentials,
        "refresh_token": fresh["refresh_token"],
    }
    qbo_connection.save()

    assert provider.accounts()
    qbo_connection.refresh_from_db()
    assert qbo.oauth.refresh_calls == 1
    assert qbo_connection.credentials["refresh_token"] != fresh["refresh_token"]  # rotated, saved
    assert qbo_connection.credentials["access_token_expires_at"] > time.time() + 3000


def test_items_need_an_income_account_and_unique_names(provider, books):
    draft = ItemDraft(name="HVAC service", kind="service", income_account_id=_income(books))
    item = provider.item_create(draft=draft, key="k-item")
    assert provider.item_find(name="HVAC service").remote_id == item.remote_id

    with pytest.raises(DuplicateName):
        provider.item_create(draft=draft, key="k-item-2")
    with pytest.raises(RejectedError):
        provider.item_create(draft=ItemDraft(name="No account", kind="service"), key="k-item-3")


def test_a_batch_reports_each_invoice_on_its_own(provider, books):
    customer = provider.customer_create(fields=CustomerFields(display_name="Batch Co"), key="k-c")
    item = provider.item_create(
        draft=ItemDraft(name="Labour", kind="service", income_account_id=_income(books)), key="k-i"
    )
    entries = [
        BatchEntry("11", _draft("INV-1", customer.remote_id, item.remote_id)),
        BatchEntry("12", _draft("INV-2", "999999", item.remote_id)),  # unknown customer
        BatchEntry("13", _draft("INV-3", customer.remote_id, item.remote_id, "80.50")),
    ]

    results = provider.invoices_create(entries=entries, request_id="batch-1")

    assert results["11"].number == "INV-1" and results["11"].total == Decimal("120.00")
    assert isinstance(results["12"], RejectedError) and results["12"].vendor_code == "2500"
    assert results["13"].total == Decimal("80.50")
    stored = next(r for r in books.rows["Invoice"].values() if r["DocNumber"] == "INV-1")
    assert {c["Name"]: c["StringValue"] for c in stored["CustomField"]} == {
        "Work order": "WO-000042",
        "Technician": "Pat Smith",
        "Completed": "2026-11-19",
    }


def test_change_data_capture_reports_changes_and_deletions(provider, books):
    since = dt.datetime.now(tz=dt.UTC) - dt.timedelta(minutes=1)
    customer = provider.customer_create(fields=CustomerFields(display_name="CDC Co"), key="k-cdc")
    item = provider.item_create(
        draft=ItemDraft(name="Svc", kind="service", income_account_id=_income(books)), key="k-cdc-i"
    )
    invoice = provider.invoices_create(
        entries=[BatchEntry("1", _draft("INV-9", customer.remote_id, item.remote_id))],
        request_id="k-inv",
    )["1"]
    books.delete("Invoice", {"Id": invoice.remote_id, "SyncToken": invoice.version})

    changes = provider.changes_since(entities=["customers", "invoices"], since=since)

    assert [c.remote_id for c in changes.customers] == [customer.remote_id]
    assert [(d.entity, d.remote_id) for d in changes.deletions] == [("invoice", invoice.remote_id)]
    assert changes.until >= since and not changes.truncated


def test_change_data_capture_says_when_it_hit_its_cap(provider, books):
    since = dt.datetime.now(tz=dt.UTC) - dt.timedelta(minutes=1)
    for n in range(1005):
        books.insert("Customer", {"DisplayName": f"Bulk {n}", "Active": True})

    changes = provider.changes_since(entities=["customers"], since=since)

    # All of them are read (paged queries past CDC's cap); CDC's cap still moves the cursor
    # only to the last change CDC showed, so deletions after it are read next time.
    assert changes.truncated and len({c.remote_id for c in changes.customers}) == 1005
    assert since < changes.until <= max(c.updated_at for c in changes.customers)
