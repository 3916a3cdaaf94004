"""Customers both ways: link before create, last modified wins, overwritten values audited."""

import datetime as dt

import pytest
from django.utils import timezone

from apps.accounting.models import OverwriteAudit, SyncCursor
from apps.accounting.services.customers import customer_link_or_create
from apps.accounting.services.refs import ref_get
from apps.accounting.services.sync import resource_sync
from apps.core.models import Customer
from tests import factories as f

pytestmark = pytest.mark.django_db


def _sync(provider):
    return resource_sync(provider=provider, resource="customers", sync_log=None)


def _edit_in_quickbooks(books, remote_id, **changes):
    row = books.rows["Customer"][remote_id]
    row.update(changes)
    books.touch("Customer", row)
    return row


def _age(customer, minutes):
    """Pretend our last edit happened `minutes` ago (updated_at is auto_now)."""
    Customer.objects.filter(pk=customer.pk).update(
        updated_at=timezone.now() - dt.timedelta(minutes=minutes)
    )
    customer.refresh_from_db()


def test_first_sync_links_same_names_imports_theirs_and_pushes_ours(provider, books, business):
    shared = f.CustomerFactory(business=business, display_name="Ada Lovelace")
    ours_only = f.CustomerFactory(
        business=business, display_name="Grace Hopper", phone="+13035550188"
    )
    theirs = books.insert("Customer", {"DisplayName": "Ada Lovelace", "Active": True})
    books.insert(
        "Customer",
        {
            "DisplayName": "Alan Turing",
            "Active": True,
            "PrimaryPhone": {"FreeFormNumber": "(303) 555-0142"},
        },
    )

    outcome = _sync(provider)

    assert outcome.failures == ()
    assert ref_get(provider.connection, shared).remote_id == theirs["Id"]
    imported = Customer.objects.get(business=business, display_name="Alan Turing")
    assert imported.phone.as_e164 == "+13035550142"  # E.164 whatever the vendor's format
    pushed = books.rows["Customer"][ref_get(provider.connection, ours_only).remote_id]
    assert pushed["PrimaryPhone"]["FreeFormNumber"] == "+13035550188"
    assert len(books.rows["Customer"]) == 3  # nobody twice
    assert SyncCursor.objects.get(connection=provider.connection, resource="customers")


def test_a_later_edit_in_quickbooks_wins_and_the_old_value_is_audited(
    provider, books, run, customer
):
    ref = customer_link_or_create(run, customer)
    _sync(provider)  # cursor set
    _age(customer, 10)
    _edit_in_quickbooks(books, ref.remote_id, PrimaryEmailAddr={"Address": "dana@newmail.com"})

    _sync(provider)

    customer.refresh_from_db()
    assert customer.email == "dana@newmail.com"
    audit = OverwriteAudit.objects.get(field="email")
    assert (audit.winner, audit.new_value, audit.conflict) == ("remote", "dana@newmail.com", False)
    assert audit.old_value.startswith("customer")


def test_a_later_edit_here_wins_with_a_sparse_update(provider, books, run, customer):
    ref = customer_link_or_create(run, customer)
    _sync(provider)
    _edit_in_quickbooks(books, ref.remote_id, Notes="Gate code 1234")  # a field we do not hold
    customer.email = "dana@office.example"
    customer.save()

    _sync(provider)

    row = books.rows["Customer"][ref.remote_id]
    assert row["PrimaryEmailAddr"]["Address"] == "dana@office.example"
    assert row["Notes"] == "Gate code 1234"  # sparse: untouched
    audit = OverwriteAudit.objects.get(field="email")
    assert audit.winner == "local" and audit.new_value == "dana@office.example"


def test_when_both_changed_the_later_one_wins_and_it_is_marked_a_conflict(
    provider, books, run, customer
):
    ref = customer_link_or_create(run, customer)
    _sync(provider)
    type(ref).objects.filter(pk=ref.pk).update(
        last_synced_at=timezone.now() - dt.timedelta(hours=1)
    )
    customer.city = "Aurora"
    customer.save()
    _age(customer, 30)  # edited here after the last sync, but before their edit
    _edit_in_quickbooks(
        books,
        ref.remote_id,
        BillAddr={
            "Line1": "9 Elm St",
            "City": "Golden",
            "CountrySubDivisionCode": "CO",
            "PostalCode": "80401",
            "Country": "US",
        },
    )

    _sync(provider)

    customer.refresh_from_db()
    assert (customer.city, customer.address_line1) == ("Golden", "9 Elm St")
    city = OverwriteAudit.objects.get(field="city")
    assert (city.old_value, city.new_value, city.conflict) == ("Aurora", "Golden", True)


def test_a_stale_sync_token_is_re_read_and_re_applied(provider, books, qbo, run, customer):
    ref = customer_link_or_create(run, customer)
    _sync(provider)
    customer.email = "dana@fresh.example"
    customer.save()
    qbo.faults.inject("stale", path_contains="/customer")  # someone edits it as we update

    outcome = _sync(provider)

    assert outcome.failures == ()
    row = books.rows["Customer"][ref.remote_id]
    assert row["PrimaryEmailAddr"]["Address"] == "dana@fresh.example"
    assert row["PrivateNote"] == "Edited in QuickBooks"  # their edit survived ours
    assert int(row["SyncToken"]) == 2


def test_a_name_taken_by_a_vendor_gets_our_number_added(provider, books, run, business):
    books.insert("Vendor", {"DisplayName": "Rocky Mountain Supply", "Active": True})
    customer = f.CustomerFactory(business=business, display_name="Rocky Mountain Supply")

    ref = customer_link_or_create(run, customer)

    assert (
        books.rows["Customer"][ref.remote_id]["DisplayName"]
        == f"Rocky Mountain Supply ({customer.pk})"
    )


def test_a_colon_is_not_sent_in_a_display_name(provider, books, run, business):
    customer = f.CustomerFactory(business=business, display_name="Smith: rental unit")

    ref = customer_link_or_create(run, customer)

    assert books.rows["Customer"][ref.remote_id]["DisplayName"] == "Smith - rental unit"


def test_a_customer_merged_in_quickbooks_is_relinked_to_the_survivor(
    provider, books, run, customer
):
    ref = customer_link_or_create(run, customer)
    _sync(provider)
    # QuickBooks merges by renaming one customer to the other's name; the merged one is deleted.
    del books.rows["Customer"][ref.remote_id]
    books.deleted.append(("Customer", ref.remote_id, timezone.now()))
    survivor = books.insert("Customer", {"DisplayName": customer.display_name, "Active": True})

    outcome = _sync(provider)

    assert ref_get(provider.connection, customer).remote_id == survivor["Id"]
    assert "deleted or merged" in outcome.message
    assert len(books.rows["Customer"]) == 1
