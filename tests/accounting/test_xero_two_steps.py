"""Xero's two-request writes resume instead of repeating: refunds (a credit note, then its
payment) and agreement receipts (an invoice, then its payment), through the real xero-python SDK
over HTTP to a loopback server that records every request and answers each in turn."""

import datetime as dt
import json
import time
from decimal import Decimal

import pytest
from django.utils import timezone

from apps.accounting.models import AccountingWrite, WriteStep
from apps.accounting.providers.base import Steps
from apps.accounting.providers.xero import XeroProvider, _second_key
from apps.accounting.services import outbox
from apps.accounting.services.agreements import (
    agreement_payment_push_request,
    agreement_payments_flush,
)
from apps.accounting.services.refs import ref_get, ref_set
from apps.accounting.services.refunds import refund_push_request, refunds_flush
from apps.accounting.services.run import Run
from apps.accounting.services.steps import WriteSteps
from apps.core import models as m
from apps.core.services.billing import payment_record, payment_refund_record
from apps.integrations.errors import TemporaryError
from apps.integrations.models import AccountMapping
from apps.payments.models import AgreementPeriod, MaintenanceAgreement, MaintenancePlan
from tests import factories as f
from tests.accounting.conftest import make_invoice
from tests.loopback import Canned, LoopbackServer

pytestmark = pytest.mark.django_db
W = AccountingWrite
TENANT = "fe79f7dd-b6d4-4a92-ba7b-538af6289c58"
CONTACT_ID = "bd2270c3-8706-4c11-9cfb-000b551c3f51"
INVOICE_ID = "fee7a2c8-0000-4000-8000-000000000001"
NOTE_ID = "aa000000-0000-4000-8000-000000000001"
SALE_ID = "bb000000-0000-4000-8000-000000000002"
NOTE = Canned(body={"CreditNotes": [{"CreditNoteID": NOTE_ID, "Type": "ACCRECCREDIT"}]})
SALE = Canned(body={"Invoices": [{"InvoiceID": SALE_ID, "Type": "ACCREC"}]})
# Xero's answer to a refused payment: HTTP 400, a ValidationException with the reason.
REFUSED = Canned(
    status=400,
    body={
        "ErrorNumber": 10,
        "Type": "ValidationException",
        "Message": "A validation exception occurred",
        "Elements": [
            {"ValidationErrors": [{"Message": "The bank account 090 is archived"}]},
        ],
    },
)


def _paid(n: int) -> Canned:
    return Canned(
        body={
            "Payments": [
                {
                    "PaymentID": f"00000000-0000-4000-8000-{n:012d}",
                    "Amount": 40.0,
                    "Status": "AUTHORISED",
                    "Date": "/Date(1763596800000+0000)/",
                }
            ]
        }
    )


@pytest.fixture
def server():
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def connection(business, server):
    connection = f.IntegrationConnectionFactory(
        business=business,
        provider="xero",
        name="Xero books",
        api_base_url=server.url,
        external_account_id=TENANT,
        credentials={
            "client_id": "XEROCLIENTID0001",
            "client_secret": "xero-secret-value-0001",
            "access_token": "at-xero-0001",
            "refresh_token": "rt-xero-0001",
            "access_token_expires_at": time.time() + 1800,
        },
        status="connected",
    )
    for kind, key, code in (
        (AccountMapping.Kind.REVENUE, "default", "200"),
        (AccountMapping.Kind.REVENUE, "Maintenance agreement revenue", "260"),
        (AccountMapping.Kind.DEPOSIT, "card", "090"),
    ):
        AccountMapping.objects.create(
            business=business, connection=connection, kind=kind, local_key=key, remote_id=code
        )
    return connection


def _run(connection) -> Run:
    return Run(provider=XeroProvider(connection))


@pytest.fixture
def refund(business, connection):
    """A refund on an invoice already in Xero (customer, item and invoice linked beforehand)."""
    customer = f.CustomerFactory(business=business, display_name="Dana Whitfield")
    category = f.ServiceCategoryFactory(business=business)
    invoice = make_invoice(business, customer, category)
    payment = payment_record(
        invoice=invoice,
        amount=Decimal("89.00"),
        method=m.PaymentMethod.CARD,
        received_at=timezone.now(),
    )
    ref_set(connection, customer, remote_id=CONTACT_ID)
    ref_set(connection, category, remote_id="item-hvac")
    ref_set(connection, invoice, remote_id=INVOICE_ID)
    refund = payment_refund_record(
        payment=payment, amount=Decimal("40.00"), reason="Part not needed", reference="re_1"
    )
    assert len(refund_push_request(refund_id=refund.pk)) == 1
    return refund


def _sent(server, path: str) -> list:
    return [r for r in server.requests if r.path.split("?")[0] == path]


def test_a_refused_refund_payment_retried_pays_the_same_credit_note(server, connection, refund):
    server.queue("/CreditNotes", NOTE)
    server.queue("/Payments", REFUSED, _paid(1))

    refunds_flush(_run(connection))
    failed = W.objects.get(entity=W.Entity.REFUND)
    assert failed.status == W.Status.FAILED
    assert "creates no second one" in failed.error_message
    assert "The bank account 090 is archived" in failed.error_message
    step = WriteStep.objects.get(entity=W.Entity.REFUND, object_id=str(refund.pk))
    assert (step.step, step.remote_id) == ("credit_note", NOTE_ID)
    assert step.idempotency_key == failed.idempotency_key

    retried = outbox.write_retry(write=failed)  # a person's retry: a new revision, a new key
    run = _run(connection)
    refunds_flush(run)
    refunds_flush(_run(connection))  # and again: nothing more

    (note,) = _sent(server, "/CreditNotes")  # exactly one credit note created
    first_pay, second_pay = _sent(server, "/Payments")
    retried.refresh_from_db()
    assert retried.status == W.Status.DONE and retried.remote_id == NOTE_ID
    assert run.failures == [] and run.succeeded == 1
    assert ref_get(connection, refund).remote_id == NOTE_ID
    for pay in (first_pay, second_pay):
        assert json.loads(pay.body)["CreditNote"]["CreditNoteID"] == NOTE_ID
    keys = [r.headers["Idempotency-Key"] for r in (note, first_pay, second_pay)]
    assert keys[0] == failed.idempotency_key and len(set(keys)) == 3  # each request its own key


def test_a_worker_killed_between_the_two_requests_sends_only_the_payment(
    server, connection, refund, monkeypatch
):
    server.queue("/CreditNotes", NOTE)
    server.queue("/Payments", _paid(1))
    stored = WriteSteps.record

    def record_then_die(self, step, *, remote_id, key):
        stored(self, step, remote_id=remote_id, key=key)
        raise SystemExit("worker killed after the credit note was stored")

    monkeypatch.setattr(WriteSteps, "record", record_then_die)
    with pytest.raises(SystemExit):
        refunds_flush(_run(connection))
    monkeypatch.undo()
    write = W.objects.get(entity=W.Entity.REFUND)
    assert write.status == W.Status.SENDING and not _sent(server, "/Payments")

    W.objects.filter(pk=write.pk).update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    refunds_flush(_run(connection))  # the restarted worker, once the lease ran out

    assert len(_sent(server, "/CreditNotes")) == 1
    (pay,) = _sent(server, "/Payments")
    write.refresh_from_db()
    assert write.status == W.Status.DONE and write.remote_id == NOTE_ID
    assert json.loads(pay.body)["CreditNote"]["CreditNoteID"] == NOTE_ID
    # The same write, so the payment's key is the one it would have been sent under before.
    assert pay.headers["Idempotency-Key"] == _second_key(write.idempotency_key)


def test_a_credit_note_whose_answer_was_lost_is_sent_again_under_the_same_key(
    server, connection, refund, settings
):
    settings.INTEGRATIONS_HTTP_READ_TIMEOUT = 0.5
    # The first answer never arrives in time; Xero would replay the same credit note.
    server.queue("/CreditNotes", Canned(body=NOTE.body, delay=1.5), NOTE)
    server.queue("/Payments", _paid(1))

    with pytest.raises(TemporaryError):
        refunds_flush(_run(connection))
    assert not WriteStep.objects.exists()  # nothing known, so nothing skipped
    refunds_flush(_run(connection))  # the retry, at once (the timeout ended the lease)

    first, again = _sent(server, "/CreditNotes")
    (pay,) = _sent(server, "/Payments")
    write = W.objects.get(entity=W.Entity.REFUND)
    assert first.headers["Idempotency-Key"] == again.headers["Idempotency-Key"]
    assert first.headers["Idempotency-Key"] == write.idempotency_key
    assert write.status == W.Status.DONE and WriteStep.objects.get().remote_id == NOTE_ID
    assert json.loads(pay.body)["CreditNote"]["CreditNoteID"] == NOTE_ID


@pytest.fixture
def period(business, connection):
    customer = f.CustomerFactory(business=business, display_name="Dana Whitfield")
    plan = MaintenancePlan.objects.create(
        business=business,
        name="Comfort plan",
        interval="month",
        price=Decimal("19.00"),
        category=f.ServiceCategoryFactory(business=business),
    )
    agreement = MaintenanceAgreement.objects.create(
        business=business,
        customer=customer,
        plan=plan,
        connection=f.IntegrationConnectionFactory(business=business, provider="stripe"),
        idempotency_key="agr-test-1",
        status="active",
    )
    ref_set(connection, customer, remote_id=CONTACT_ID)
    ref_set(connection, plan, remote_id="item-plan")
    period = AgreementPeriod.objects.create(
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
    agreement_payment_push_request(period_id=period.pk)
    return period


def test_a_refused_agreement_payment_retried_pays_the_same_invoice(server, connection, period):
    server.queue("/Invoices", SALE)
    server.queue("/Payments", REFUSED, _paid(2))

    agreement_payments_flush(_run(connection))
    failed = W.objects.get(entity=W.Entity.AGREEMENT)
    assert failed.status == W.Status.FAILED and "the invoice was created" in failed.error_message

    retried = outbox.write_retry(write=failed)
    agreement_payments_flush(_run(connection))

    (sale,) = _sent(server, "/Invoices")
    first_pay, second_pay = _sent(server, "/Payments")
    retried.refresh_from_db()
    assert retried.status == W.Status.DONE and retried.remote_id == SALE_ID
    assert ref_get(connection, period).remote_id == SALE_ID
    assert json.loads(sale.body)["Invoices"][0]["Status"] == "AUTHORISED"
    for pay in (first_pay, second_pay):
        assert json.loads(pay.body)["Invoice"]["InvoiceID"] == SALE_ID
    assert first_pay.headers["Idempotency-Key"] != second_pay.headers["Idempotency-Key"]


def test_the_provider_skips_a_document_it_is_told_exists(server, connection):
    """The provider on its own: a step found in `steps` is not sent again, one not found is."""
    from tests.accounting.test_xero import _refund_draft

    server.queue("/Payments", _paid(3))
    known = Steps()
    known.record("credit_note", remote_id=NOTE_ID, key="k")

    got = XeroProvider(connection).refund_create(
        draft=_refund_draft(), key="1d2c3b4a-5f6e-5d7c-8b9a-0f1e2d3c4b5a", steps=known
    )

    (pay,) = server.requests
    assert got == NOTE_ID and pay.path.startswith("/Payments")
    assert json.loads(pay.body)["CreditNote"]["CreditNoteID"] == NOTE_ID
