"""payment_refund_record: money going back lowers the invoice's paid amount and can reopen it."""

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError
from apps.core.models import Invoice, InvoiceStatus, Payment, Refund, WorkOrder, WorkOrderStatus
from apps.core.services.billing import payment_record, payment_refund_record
from tests import factories as f

S = WorkOrderStatus


def _pay(invoice, amount: str, **extra) -> Payment:
    extra.setdefault("method", "card")
    return payment_record(invoice=invoice, amount=Decimal(amount), **extra)


def _refund(payment, amount: str, **extra) -> Refund:
    return payment_refund_record(payment=payment, amount=Decimal(amount), **extra)


def _fresh(invoice) -> Invoice:
    return Invoice.objects.get(pk=invoice.pk)


def test_part_then_rest_of_a_payment_refunded(billed_invoice, dispatcher):
    payment = _pay(billed_invoice, "100.00")

    first = _refund(payment, "40.00", reason="Scratched panel", by=dispatcher)

    invoice = _fresh(billed_invoice)
    assert invoice.amount_paid == Decimal("60.00")
    assert invoice.balance_due == Decimal("123.63")
    assert (first.invoice, first.currency, first.recorded_by) == (invoice, "USD", dispatcher)
    assert first.business_id == invoice.business_id
    assert first.reason == "Scratched panel"

    _refund(payment, "60.00")

    assert _fresh(billed_invoice).amount_paid == Decimal("0.00")
    assert payment.refunds.count() == 2
    with pytest.raises(DomainError, match=r"more than the 0\.00 left to refund") as caught:
        _refund(payment, "0.01")
    assert caught.value.field == "amount"


def test_refund_more_than_left_refused(billed_invoice):
    payment = _pay(billed_invoice, "100.00")
    _refund(payment, "30.00")
    with pytest.raises(DomainError, match=r"refund of 70\.01 is more than the 70\.00 left") as err:
        _refund(payment, "70.01")
    assert err.value.field == "amount"
    assert _fresh(billed_invoice).amount_paid == Decimal("70.00")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "A refund must be greater than zero."),
        ("-1.00", "A refund must be greater than zero."),
        ("1.005", "A refund cannot have fractions of a cent."),
    ],
)
def test_refund_amount_refusals(billed_invoice, amount, message):
    payment = _pay(billed_invoice, "100.00")
    with pytest.raises(DomainError) as caught:
        _refund(payment, amount)
    assert (caught.value.message, caught.value.field) == (message, "amount")
    assert not Refund.objects.exists()


def test_naive_refund_time_refused(billed_invoice):
    payment = _pay(billed_invoice, "10.00")
    with pytest.raises(DomainError, match="The refund time must include a time zone") as caught:
        _refund(payment, "5.00", refunded_at=dt.datetime(2026, 3, 1, 9, 0))
    assert caught.value.field == "refunded_at"


def test_refunded_at_defaults_to_now_and_keeps_given_time(billed_invoice):
    payment = _pay(billed_invoice, "10.00")
    before = timezone.now()
    assert before <= _refund(payment, "1.00").refunded_at <= timezone.now()
    given = dt.datetime(2026, 3, 1, 16, 0, tzinfo=dt.UTC)
    assert _refund(payment, "1.00", refunded_at=given).refunded_at == given


def test_same_reference_is_idempotent(
    billed_invoice, core_events, django_capture_on_commit_callbacks
):
    payment = _pay(billed_invoice, "100.00")
    with django_capture_on_commit_callbacks(execute=True):
        first = _refund(payment, "25.00", reference="re_123")
    with django_capture_on_commit_callbacks(execute=True):
        replay = _refund(payment, "25.00", reference="re_123")

    assert replay.pk == first.pk
    assert Refund.objects.count() == 1
    assert _fresh(billed_invoice).amount_paid == Decimal("75.00")
    assert [type(e) for e in core_events] == [events.RefundRecorded]  # the replay tells no one


def test_reference_of_another_payment_refused(billed_invoice):
    first = _pay(billed_invoice, "50.00")
    second = _pay(billed_invoice, "50.00")
    _refund(first, "10.00", reference="re_abc")
    with pytest.raises(DomainError, match="re_abc is already used by a refund of another") as err:
        _refund(second, "10.00", reference="re_abc")
    assert err.value.field == "reference"


def test_reference_unique_per_business_in_the_database(billed_invoice):
    payment = _pay(billed_invoice, "50.00")
    _refund(payment, "10.00", reference="re_dup")
    values = {
        "business_id": payment.business_id,
        "payment": payment,
        "amount": Decimal("1.00"),
        "refunded_at": timezone.now(),
    }
    Refund.objects.create(**values)  # blank references do not collide
    Refund.objects.create(**values)
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.create(**values, reference="re_dup")


def test_refund_amount_positive_in_the_database(billed_invoice):
    payment = _pay(billed_invoice, "50.00")
    with pytest.raises(IntegrityError), transaction.atomic():
        Refund.objects.create(
            business_id=payment.business_id,
            payment=payment,
            amount=Decimal("0.00"),
            refunded_at=timezone.now(),
        )


def test_refund_reopens_a_paid_invoice_but_not_the_work_order(billed_invoice):
    payment = _pay(billed_invoice, "183.63")
    assert _fresh(billed_invoice).status == InvoiceStatus.PAID

    _refund(payment, "20.00")

    invoice = _fresh(billed_invoice)
    assert invoice.status == InvoiceStatus.OPEN
    assert invoice.balance_due == Decimal("20.00")
    # The work was done: the work order stays paid.
    assert WorkOrder.objects.get(pk=invoice.work_order_id).status == S.PAID


def test_refund_on_a_paid_invoice_past_due_makes_it_overdue(billed_invoice):
    payment = _pay(billed_invoice, "183.63")
    past = timezone.localdate() - dt.timedelta(days=40)
    Invoice.objects.filter(pk=billed_invoice.pk).update(
        issued_on=past, due_date=past + dt.timedelta(days=30)
    )

    _refund(payment, "183.63")

    invoice = _fresh(billed_invoice)
    assert invoice.status == InvoiceStatus.OVERDUE
    assert invoice.amount_paid == Decimal("0.00")


def test_paying_again_after_a_refund_settles_the_invoice(billed_invoice):
    payment = _pay(billed_invoice, "183.63")
    _refund(payment, "83.63")
    _pay(billed_invoice, "83.63", method="cash")
    invoice = _fresh(billed_invoice)
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.PAID, Decimal("183.63"))


def test_refund_of_a_payment_on_no_invoice(business):
    customer = f.CustomerFactory(business=business)
    payment = Payment.objects.create(
        business=business,
        customer=customer,
        amount=Decimal("40.00"),
        method="cash",
        received_at=timezone.now(),
    )
    refund = _refund(payment, "40.00")
    assert refund.invoice is None
    with pytest.raises(DomainError, match="left to refund"):
        _refund(payment, "0.01")


def test_refund_event_published_after_commit(
    billed_invoice, core_events, django_capture_on_commit_callbacks
):
    payment = _pay(billed_invoice, "100.00")
    with django_capture_on_commit_callbacks(execute=True):
        refund = _refund(payment, "12.34", reference="re_evt")
        assert core_events == []

    [event] = core_events
    assert event == events.RefundRecorded(
        business_id=billed_invoice.business_id,
        refund_id=refund.pk,
        payment_id=payment.pk,
        invoice_id=billed_invoice.pk,
        amount=Decimal("12.34"),
        currency="USD",
        occurred_at=event.occurred_at,
    )
    assert timezone.is_aware(event.occurred_at)


def test_rolled_back_refund_publishes_nothing(
    billed_invoice, core_events, django_capture_on_commit_callbacks
):
    payment = _pay(billed_invoice, "100.00")
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(ZeroDivisionError),
        transaction.atomic(),
    ):
        _refund(payment, "10.00")
        1 / 0  # noqa: B018
    assert callbacks == []
    assert core_events == []
    assert _fresh(billed_invoice).amount_paid == Decimal("100.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_refunds_cannot_exceed_the_payment(billed_invoice):
    payment = _pay(billed_invoice, "100.00")
    threads = 4
    barrier = threading.Barrier(threads)

    def refund_60(n: int) -> str:
        try:
            barrier.wait(timeout=10)
            # Each its own reference, so only the lock (not idempotency) can stop the second.
            _refund(payment, "60.00", reference=f"re_race_{n}")
        except DomainError:
            return "refused"
        finally:
            connection.close()  # each thread has its own connection
        return "refunded"

    with ThreadPoolExecutor(max_workers=threads) as pool:
        outcomes = sorted(pool.map(refund_60, range(threads)))

    assert outcomes == ["refunded", *["refused"] * (threads - 1)]
    assert _fresh(billed_invoice).amount_paid == Decimal("40.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_webhook_replays_record_one_refund(billed_invoice):
    payment = _pay(billed_invoice, "100.00")
    threads = 4
    barrier = threading.Barrier(threads)

    def replay(_: int) -> int:
        try:
            barrier.wait(timeout=10)
            return _refund(payment, "25.00", reference="re_same").pk
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=threads) as pool:
        ids = set(pool.map(replay, range(threads)))

    assert len(ids) == 1
    assert Refund.objects.count() == 1
    assert _fresh(billed_invoice).amount_paid == Decimal("75.00")
