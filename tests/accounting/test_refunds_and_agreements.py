"""Refunds (QuickBooks RefundReceipt) and maintenance-agreement revenue (SalesReceipt), once."""

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounting.models import AccountingWrite
from apps.accounting.services.agreements import agreement_payment_push_request
from apps.accounting.services.invoices import invoice_push_request
from apps.accounting.services.refs import ref_get
from apps.accounting.services.refunds import refund_push_request
from apps.accounting.services.sync import resource_sync
from apps.core import events
from apps.core import models as m
from apps.core.services.billing import payment_record, payment_refund_record
from apps.integrations.errors import TemporaryError
from apps.integrations.models import AccountMapping, SyncLog, SyncRecordError
from apps.integrations.services import connection_sync, sync_record_error_retry
from apps.payments import events as payment_events
from apps.payments.models import AgreementPeriod, MaintenanceAgreement, MaintenancePlan
from tests import factories as f
from tests.accounting.conftest import make_invoice

pytestmark = pytest.mark.django_db
W = AccountingWrite


def _sync(provider, resource="payments"):
    return resource_sync(provider=provider, resource=resource, sync_log=None)


def _account(books, name):
    return next(r for r in books.rows["Account"].values() if r["Name"] == name)


def _paid_invoice(provider, customer, category):
    invoice = make_invoice(customer.business, customer, category)
    invoice_push_request(invoice=invoice)
    _sync(provider, "invoices")
    payment = payment_record(
        invoice=invoice,
        amount=Decimal("89.00"),
        method=m.PaymentMethod.CARD,
        received_at=timezone.now(),
    )
    return invoice, payment


def test_a_refund_is_a_refund_receipt_from_the_methods_deposit_account(
    provider, books, customer, category
):
    invoice, payment = _paid_invoice(provider, customer, category)
    checking = _account(books, "Checking")
    AccountMapping.objects.create(
        business=customer.business,
        connection=provider.connection,
        kind=AccountMapping.Kind.DEPOSIT,
        local_key="card",
        remote_id=checking["Id"],
    )
    refund = payment_refund_record(
        payment=payment, amount=Decimal("40.00"), reason="Part not needed", reference="re_1"
    )

    refund_push_request(refund_id=refund.pk)
    outcome = _sync(provider)
    _sync(provider)  # and again: nothing more

    (receipt,) = books.rows["RefundReceipt"].values()
    assert outcome.failures == ()
    assert receipt["TotalAmt"] == Decimal("40.00")
    assert receipt["DepositToAccountRef"]["value"] == checking["Id"]  # "Refund from"
    assert receipt["CustomerRef"]["value"] == ref_get(provider.connection, customer).remote_id
    item = books.rows["Item"][receipt["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"]]
    assert item["Name"] == "HVAC service"  # income reversed on the trade's own item
    assert invoice.number in receipt["PrivateNote"] and "Part not needed" in receipt["PrivateNote"]
    assert receipt["PaymentMethodRef"]["value"]  # the card method, found by name
    assert ref_get(provider.connection, refund).remote_id == receipt["Id"]
    assert W.objects.get(entity=W.Entity.REFUND).status == W.Status.DONE


def test_a_refund_lost_in_a_timeout_is_recorded_once(provider, books, qbo, customer, category):
    _, payment = _paid_invoice(provider, customer, category)
    refund = payment_refund_record(payment=payment, amount=Decimal("10.00"))
    refund_push_request(refund_id=refund.pk)
    qbo.faults.inject("timeout", path_contains="/refundreceipt")

    with pytest.raises(TemporaryError):
        _sync(provider)
    _sync(provider)

    assert len(books.rows["RefundReceipt"]) == 1 and qbo.stats["replayed"] == 1
    assert W.objects.get(entity=W.Entity.REFUND).status == W.Status.DONE


def test_a_refund_waits_for_its_invoice(provider, books, customer, category):
    invoice = make_invoice(customer.business, customer, category)
    payment = payment_record(
        invoice=invoice, amount=Decimal("89.00"), method="cash", received_at=timezone.now()
    )
    refund = payment_refund_record(payment=payment, amount=Decimal("89.00"))
    refund_push_request(refund_id=refund.pk)

    outcome = _sync(provider)

    assert books.rows["RefundReceipt"] == {}
    assert any("wait for their invoice" in note for note in outcome.message.split(". "))
    assert W.objects.get(entity=W.Entity.INVOICE).status == W.Status.PENDING  # owed now

    _sync(provider, "invoices")
    _sync(provider)
    assert len(books.rows["RefundReceipt"]) == 1


def test_the_refund_recorded_event_pushes_the_refund(
    qbo_connection, books, customer, category, run_on_commit
):
    invoice = make_invoice(customer.business, customer, category)
    run_on_commit(invoice_push_request, invoice=invoice)
    payment = run_on_commit(
        payment_record,
        invoice=invoice,
        amount=Decimal("89.00"),
        method=m.PaymentMethod.CHECK,
        received_at=timezone.now(),
    )

    run_on_commit(payment_refund_record, payment=payment, amount=Decimal("89.00"))

    (receipt,) = books.rows["RefundReceipt"].values()
    assert receipt["TotalAmt"] == Decimal("89.00")
    funds = _account(books, "Undeposited Funds")  # no deposit mapping: the default
    assert receipt["DepositToAccountRef"]["value"] == funds["Id"]


@pytest.fixture
def period(business, customer, category, qbo_connection):
    plan = MaintenancePlan.objects.create(
        business=business,
        name="Comfort plan",
        interval="month",
        price=Decimal("19.00"),
        category=category,
    )
    agreement = MaintenanceAgreement.objects.create(
        business=business,
        customer=customer,
        plan=plan,
        connection=f.IntegrationConnectionFactory(business=business, provider="stripe"),
        idempotency_key="agr-test-1",
        status="active",
    )
    return AgreementPeriod.objects.create(
        business=business,
        agreement=agreement,
        stripe_invoice_id="in_1TestPeriod",
        period_start=dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
        amount_due=Decimal("19.00"),
        amount_paid=Decimal("19.00"),
        currency="usd",
        status=AgreementPeriod.Status.PAID,
        paid_at=timezone.now(),
    )


def test_an_agreement_period_is_a_sales_receipt_on_the_agreement_revenue_account(
    provider, books, period
):
    revenue = books.insert(
        "Account",
        {
            "Name": "Maintenance agreement revenue",
            "AccountType": "Income",
            "AccountSubType": "ServiceFeeIncome",
            "Active": True,
        },
    )

    agreement_payment_push_request(period_id=period.pk)
    agreement_payment_push_request(period_id=period.pk)  # a replayed event: still one write
    outcome = _sync(provider)
    _sync(provider)

    (receipt,) = books.rows["SalesReceipt"].values()
    assert outcome.failures == () and W.objects.filter(entity=W.Entity.AGREEMENT).count() == 1
    assert receipt["TotalAmt"] == Decimal("19.00")
    item = books.rows["Item"][receipt["Line"][0]["SalesItemLineDetail"]["ItemRef"]["value"]]
    assert item["Name"] == "Comfort plan maintenance agreement"
    assert item["IncomeAccountRef"]["value"] == revenue["Id"]
    assert (
        AccountMapping.objects.get(local_key="Maintenance agreement revenue").remote_id
        == (revenue["Id"])
    )  # auto-mapped by name, editable by the bookkeeper
    assert "in_1TestPeriod" in receipt["PrivateNote"]
    assert ref_get(provider.connection, period).remote_id == receipt["Id"]


def test_without_an_agreement_revenue_account_the_period_fails_in_words(provider, books, period):
    agreement_payment_push_request(period_id=period.pk)

    outcome = _sync(provider)

    (failure,) = outcome.failures
    assert "Maintenance agreement revenue" in failure.message
    assert books.rows["SalesReceipt"] == {}
    assert W.objects.get(entity=W.Entity.AGREEMENT).status == W.Status.FAILED


def test_the_agreement_payment_event_pushes_the_period(
    qbo_connection, books, period, run_on_commit
):
    AccountMapping.objects.create(
        business=period.business,
        connection=qbo_connection,
        kind=AccountMapping.Kind.REVENUE,
        local_key="default",
        remote_id=_account(books, "Services")["Id"],
    )

    run_on_commit(
        events.publish_on_commit,
        payment_events.AgreementPaymentReceived(
            business_id=period.business_id,
            agreement_id=period.agreement_id,
            period_id=period.pk,
            amount=period.amount_paid,
            currency="usd",
            occurred_at=timezone.now(),
        ),
    )

    (receipt,) = books.rows["SalesReceipt"].values()
    assert receipt["TotalAmt"] == Decimal("19.00")


def test_a_refused_period_is_sent_when_a_person_retries_it_after_adding_the_mapping(
    provider, books, period, django_capture_on_commit_callbacks
):
    agreement_payment_push_request(period_id=period.pk)
    log = SyncLog.objects.create(
        business=period.business,
        connection=provider.connection,
        sync_type="payments",
        direction="bidirectional",
    )
    connection_sync(sync_log_id=log.pk)
    error = SyncRecordError.objects.get(sync_log=log)
    assert error.record_type == "agreement" and "Maintenance agreement revenue" in error.message

    AccountMapping.objects.create(
        business=period.business,
        connection=provider.connection,
        kind=AccountMapping.Kind.REVENUE,
        local_key="Maintenance agreement revenue",
        remote_id=_account(books, "Services")["Id"],
    )
    with django_capture_on_commit_callbacks(execute=True):
        sync_record_error_retry(record_error=error)

    written = W.objects.filter(entity=W.Entity.AGREEMENT).order_by("revision")
    assert [w.status for w in written] == [W.Status.FAILED, W.Status.DONE]
    assert len(books.rows["SalesReceipt"]) == 1
