"""Multicurrency QuickBooks companies: CurrencyRef when the business's currency is not the home one."""

from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounting.models import AccountingWrite
from apps.accounting.services.invoices import invoice_push_request
from apps.accounting.services.payments import payment_push_request
from apps.accounting.services.refs import ref_get
from apps.accounting.services.sync import resource_sync
from apps.core.services.billing import payment_record
from tests.accounting.conftest import make_invoice

pytestmark = pytest.mark.django_db
W = AccountingWrite


def _sync(provider, resource):
    return resource_sync(provider=provider, resource=resource, sync_log=None)


def _in_cad(invoice):
    invoice.currency = "CAD"
    invoice.save(update_fields=["currency"])
    return invoice


@pytest.fixture
def canadian(business):
    business.currency = "CAD"
    business.save(update_fields=["currency"])
    return business


def test_a_foreign_currency_business_books_in_its_currency_at_quickbooks_rate(
    provider, books, qbo, canadian, customer, category
):
    books.multicurrency = True
    books.exchange_rates["CAD"] = Decimal("0.7200")
    provider.connection.business.refresh_from_db()
    invoice = _in_cad(make_invoice(canadian, customer, category))
    invoice_push_request(invoice=invoice)

    outcome = _sync(provider, "invoices")

    assert outcome.failures == ()
    remote_customer = books.rows["Customer"][ref_get(provider.connection, customer).remote_id]
    remote = books.rows["Invoice"][ref_get(provider.connection, invoice).remote_id]
    assert remote_customer["CurrencyRef"]["value"] == "CAD"  # fixed at creation
    assert (remote["CurrencyRef"]["value"], remote["ExchangeRate"]) == ("CAD", Decimal("0.7200"))
    assert remote["HomeTotalAmt"] == Decimal("64.08")  # 89.00 CAD in USD
    assert provider.connection.settings["home_currency"] == "USD"  # read once, kept
    assert sum(1 for _, p in qbo.requests if "/preferences" in p) == 1

    payment = payment_record(
        invoice=invoice, amount=Decimal("89.00"), method="check", received_at=timezone.now()
    )
    payment_push_request(payment_id=payment.pk)
    assert _sync(provider, "payments").failures == ()
    remote_payment = books.rows["Payment"][ref_get(provider.connection, payment).remote_id]
    assert remote_payment["CurrencyRef"]["value"] == "CAD"


def test_without_multicurrency_a_foreign_invoice_fails_alone_in_words(
    provider, books, business, customer, category
):
    usd = [make_invoice(business, customer, category) for _ in range(2)]
    cad = _in_cad(make_invoice(business, customer, category))
    for invoice in (*usd, cad):
        invoice_push_request(invoice=invoice)

    outcome = _sync(provider, "invoices")

    (failure,) = outcome.failures
    assert cad.number in failure.message and "multicurrency" in failure.message
    assert sorted(r["DocNumber"] for r in books.rows["Invoice"].values()) == sorted(
        i.number for i in usd
    )
    assert W.objects.get(entity="invoice", object_id=str(cad.pk)).status == W.Status.FAILED
