"""Items ours to theirs (income accounts by revenue category); payments both ways."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounting.models import AccountingWrite
from apps.accounting.services.invoices import invoice_push_request
from apps.accounting.services.payments import payment_push_request
from apps.accounting.services.refs import ref_get
from apps.accounting.services.sync import resource_sync
from apps.core import models as m
from apps.core.services.billing import payment_record
from apps.integrations.models import AccountMapping
from tests import factories as f
from tests.accounting.conftest import make_invoice

pytestmark = pytest.mark.django_db
W = AccountingWrite


def _sync(provider, resource):
    return resource_sync(provider=provider, resource=resource, sync_log=None)


def _map(connection, kind, key, remote_id):
    return AccountMapping.objects.create(
        business=connection.business,
        connection=connection,
        kind=kind,
        local_key=key,
        remote_id=remote_id,
    )


def test_trades_and_parts_become_items_on_their_income_accounts(
    provider, books, business, category
):
    plumbing = f.ServiceCategoryFactory(
        business=business,
        code="plumbing",
        name="Plumbing",
        revenue_category="Plumbing service revenue",
    )
    part = f.PartFactory(
        business=business, sku="CAP-455", name="Capacitor 45/5 uF", category=category
    )
    electrical = f.ServiceCategoryFactory(
        business=business,
        code="elec",
        name="Electrical",
        revenue_category="Electrical service revenue",
    )

    outcome = _sync(provider, "items")

    by_name = {r["Name"]: r for r in books.rows["Item"].values()}
    account = {r["Id"]: r["Name"] for r in books.rows["Account"].values()}
    assert account[by_name["HVAC service"]["IncomeAccountRef"]["value"]] == "HVAC service revenue"
    assert (
        account[by_name["Plumbing service"]["IncomeAccountRef"]["value"]]
        == "Plumbing service revenue"
    )
    assert by_name["CAP-455 Capacitor 45/5 uF"]["Type"] == "NonInventory"
    assert Decimal(str(by_name["CAP-455 Capacitor 45/5 uF"]["UnitPrice"])) == part.unit_price
    # No account called "Electrical service revenue" and no default mapping: a clear refusal.
    (failure,) = outcome.failures
    assert failure.record_id == f"category:{electrical.pk}"
    assert (
        "No QuickBooks Online income account is mapped for “Electrical service revenue”"
        in failure.message
    )
    assert "Electrical service" not in by_name and plumbing


def test_an_unchanged_item_is_not_written_again_and_a_changed_one_is_updated(
    provider, books, business, category
):
    part = f.PartFactory(business=business, sku="FLT-16", name="Filter 16x25", category=category)
    _sync(provider, "items")
    writes_before = W.objects.filter(entity="item").count()

    _sync(provider, "items")
    assert W.objects.filter(entity="item").count() == writes_before  # nothing changed

    part.unit_price = Decimal("19.95")
    part.save()
    _sync(provider, "items")
    remote = books.rows["Item"][ref_get(provider.connection, part).remote_id]
    assert Decimal(str(remote["UnitPrice"])) == Decimal("19.95") and remote["SyncToken"] == "1"


def test_a_payment_here_goes_to_the_deposit_account_of_its_method(
    provider, books, customer, category, business
):
    invoice = make_invoice(business, customer, category, lines=(("Repair", "1", "200.00"),))
    invoice_push_request(invoice=invoice)
    _sync(provider, "invoices")
    checking = books.find("Account", Name="Checking")["Id"]
    _map(provider.connection, "deposit", "card", checking)
    card = payment_record(
        invoice=invoice, amount=Decimal("150.00"), method="card", reference="4242"
    )
    check = payment_record(
        invoice=invoice, amount=Decimal("50.00"), method="check", reference="1017"
    )
    payment_push_request(payment_id=card.pk)
    payment_push_request(payment_id=check.pk)

    outcome = _sync(provider, "payments")

    assert outcome.failures == ()
    remote_card = books.rows["Payment"][ref_get(provider.connection, card).remote_id]
    remote_check = books.rows["Payment"][ref_get(provider.connection, check).remote_id]
    assert remote_card["DepositToAccountRef"]["value"] == checking
    undeposited = books.find("Account", AccountSubType="UndepositedFunds")["Id"]
    assert remote_check["DepositToAccountRef"]["value"] == undeposited  # the default
    assert (
        remote_card["Line"][0]["LinkedTxn"][0]["TxnId"]
        == ref_get(provider.connection, invoice).remote_id
    )
    assert books.rows["PaymentMethod"][remote_check["PaymentMethodRef"]["value"]]["Name"] == "Check"
    remote_invoice = books.rows["Invoice"][ref_get(provider.connection, invoice).remote_id]
    assert Decimal(str(remote_invoice["Balance"])) == Decimal("0.00")


def test_a_payment_waits_for_its_invoice(provider, books, customer, category, business):
    invoice = make_invoice(business, customer, category)
    payment = payment_record(invoice=invoice, amount=Decimal("10.00"), method="cash")
    payment_push_request(payment_id=payment.pk)

    outcome = _sync(provider, "payments")

    assert books.rows["Payment"] == {} and "wait for their invoice" in outcome.message
    assert W.objects.get(entity="payment").status == W.Status.PENDING
    assert W.objects.filter(entity="invoice", object_id=str(invoice.pk)).exists()  # owed first


def test_a_payment_entered_in_quickbooks_is_recorded_on_the_right_invoice(
    provider, books, customer, category, business
):
    invoice = make_invoice(business, customer, category, lines=(("Repair", "1", "120.00"),))
    other = make_invoice(business, customer, category, lines=(("Other", "1", "60.00"),))
    invoice_push_request(invoice=invoice)
    invoice_push_request(invoice=other)
    _sync(provider, "invoices")
    _sync(provider, "payments")  # cursor
    remote_invoice = ref_get(provider.connection, invoice).remote_id
    visa = books.find("PaymentMethod", Name="Visa")["Id"]
    books.create(
        "Payment",
        {
            "CustomerRef": {"value": ref_get(provider.connection, customer).remote_id},
            "TotalAmt": "120.00",
            "TxnDate": "2026-11-20",
            "PaymentMethodRef": {"value": visa, "name": "Visa"},
            "PaymentRefNum": "AUTH77",
            "Line": [
                {"Amount": "120.00", "LinkedTxn": [{"TxnId": remote_invoice, "TxnType": "Invoice"}]}
            ],
        },
        params={},
    )

    outcome = _sync(provider, "payments")

    assert outcome.failures == ()
    payment = m.Payment.objects.get(invoice=invoice)
    assert (payment.amount, payment.method, payment.reference) == (
        Decimal("120.00"),
        "card",
        "AUTH77",
    )
    assert timezone.localtime(payment.received_at, business.timezone).date() == dt.date(
        2026, 11, 20
    )
    invoice.refresh_from_db()
    assert invoice.status == m.InvoiceStatus.PAID  # payment status flowed back
    assert not m.Payment.objects.filter(invoice=other).exists()
    # It came from QuickBooks, so it is not owed back to QuickBooks.
    assert not W.objects.filter(entity="payment").exists()
    _sync(provider, "payments")
    assert m.Payment.objects.filter(invoice=invoice).count() == 1  # re-read in the overlap: once


def test_a_remote_payment_larger_than_the_balance_is_a_readable_failure(
    provider, books, customer, category, business
):
    invoice = make_invoice(business, customer, category, lines=(("Repair", "1", "80.00"),))
    invoice_push_request(invoice=invoice)
    _sync(provider, "invoices")
    _sync(provider, "payments")
    payment_record(invoice=invoice, amount=Decimal("50.00"), method="cash")  # here, not yet sent
    row = books.rows["Invoice"][ref_get(provider.connection, invoice).remote_id]
    books.create(
        "Payment",
        {
            "CustomerRef": row["CustomerRef"],
            "TotalAmt": "80.00",
            "Line": [
                {"Amount": "80.00", "LinkedTxn": [{"TxnId": row["Id"], "TxnType": "Invoice"}]}
            ],
        },
        params={},
    )

    outcome = resource_sync(provider=provider, resource="payments", sync_log=None)

    messages = [x.message for x in outcome.failures]
    assert any(
        "could not be recorded here: The payment of 80.00 is more than the balance due of 30.00"
        in text
        for text in messages
    ), messages


def test_inventory_parts_need_their_accounts_and_get_them(provider, books, business, category):
    provider.connection.settings = {**provider.connection.settings, "parts_item_type": "inventory"}
    provider.connection.save()
    part = f.PartFactory(
        business=business, sku="COIL-3T", name="Evaporator coil 3 ton", category=category
    )

    missing = _sync(provider, "items")
    assert any("inventory_asset" in x.message for x in missing.failures)

    _map(
        provider.connection,
        "parts",
        "inventory_asset",
        books.find("Account", Name="Inventory Asset")["Id"],
    )
    _map(
        provider.connection,
        "parts",
        "cost_of_goods",
        books.find("Account", Name="Cost of Goods Sold")["Id"],
    )
    _sync(provider, "items")

    remote = books.rows["Item"][ref_get(provider.connection, part).remote_id]
    assert (remote["Type"], remote["TrackQtyOnHand"]) == ("Inventory", True)


@pytest.mark.parametrize("operation", ["void", "delete"])
def test_a_payment_voided_or_deleted_at_the_vendor_is_reported_once_and_kept_here(
    operation, provider, books, customer, category, business
):
    invoice = make_invoice(business, customer, category, lines=(("Repair", "1", "120.00"),))
    invoice_push_request(invoice=invoice)
    _sync(provider, "invoices")
    _sync(provider, "payments")  # cursor
    payment = payment_record(invoice=invoice, amount=Decimal("120.00"), method="check")
    payment_push_request(payment_id=payment.pk)
    _sync(provider, "payments")
    remote = books.rows["Payment"][ref_get(provider.connection, payment).remote_id]

    books.save(
        "Payment",
        {"Id": remote["Id"], "SyncToken": remote["SyncToken"]},
        params={"operation": operation},
    )
    first = _sync(provider, "payments")
    again = _sync(provider, "payments")  # the overlap re-reads the same change

    (failure,) = first.failures
    assert (
        f"{'voided' if operation == 'void' else 'deleted'} in QuickBooks Online" in failure.message
    )
    assert "never removed automatically" in failure.message and "record a refund" in failure.message
    assert again.failures == ()
    assert m.Payment.objects.filter(pk=payment.pk).exists()  # field money is not deleted here
    invoice.refresh_from_db()
    assert invoice.status == m.InvoiceStatus.PAID
