"""PaymentIntents: created for the technician app, mirrored from webhooks, fulfilled only there.

Out-of-order safety: each applied snapshot remembers Stripe's time (`status_at`). A snapshot older
than the one applied is ignored; one from the same second that disagrees is settled by fetching
the PaymentIntent from Stripe; succeeded and canceled never move back. Fulfilment (recording the
payment on the invoice) is a separate, idempotent step keyed on the row: it runs at most once
whichever of payment_intent.succeeded or checkout.session.completed arrives first.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import partial

import structlog
from django.db import transaction
from django.db.models import Max

from apps.core.errors import DomainError
from apps.core.models import Invoice, PaymentMethod, User
from apps.core.money import money_sum
from apps.core.services.billing import payment_record
from apps.payments.conf import idempotency_key
from apps.payments.models import (
    CaptureMethod,
    IntentStatus,
    PaymentAlert,
    SavedPaymentMethod,
    StripePaymentIntent,
)
from apps.payments.models.intents import OPEN_INTENT_STATUSES, TERMINAL_INTENT_STATUSES, ZERO
from apps.payments.money import to_minor
from apps.payments.services.alerts import payment_alert_raise
from apps.payments.services.common import (
    PAYABLE_INVOICE_STATUSES,
    stripe_connection_for,
    stripe_provider,
)
from apps.payments.services.customers import stripe_customer_ensure
from apps.payments.stripe_objects import RemoteIntent

logger = structlog.get_logger(__name__)

CARD, ACH = "card", "us_bank_account"
ALLOWED_TYPES = (CARD, ACH)
IN_FLIGHT = (IntentStatus.PROCESSING, IntentStatus.REQUIRES_CAPTURE)


def default_payment_method_types(currency: str) -> list[str]:
    # ACH debits are USD only; cards (and Apple Pay / Google Pay, which are cards to Stripe)
    # work in every currency.
    return [CARD, ACH] if currency == "USD" else [CARD]


def _in_flight_total(invoice: Invoice) -> Decimal:
    return money_sum(
        StripePaymentIntent.objects.filter(
            invoice=invoice, status__in=IN_FLIGHT, payment__isnull=True
        )
    )


def payment_intent_create(
    *,
    invoice: Invoice,
    by: User | None = None,
    amount: Decimal | None = None,
    payment_method_types: list[str] | None = None,
    capture_method: str = CaptureMethod.AUTOMATIC,
    saved_payment_method: SavedPaymentMethod | None = None,
    save_payment_method: bool = False,
) -> StripePaymentIntent:
    """A PaymentIntent for (part of) an invoice's balance; its client secret goes to the app.

    The row (with its idempotency key) is committed first and Stripe is called outside our
    transaction, so a failed call is still counted for monitoring; on failure the row is removed
    again (nothing stored) and a retry derives the same key, so Stripe never creates two.
    """
    with transaction.atomic():
        record = _intent_row_create(
            invoice=invoice,
            by=by,
            amount=amount,
            payment_method_types=payment_method_types,
            capture_method=capture_method,
            saved_payment_method=saved_payment_method,
            save_payment_method=save_payment_method,
        )
    if record.stripe_id:
        return record  # the open intent handed out again
    try:
        link = stripe_customer_ensure(connection=record.connection, customer=record.customer)
        remote = stripe_provider(record.connection).intent_create(
            idempotency_key=record.idempotency_key,
            amount=record.amount,
            currency=record.currency,
            customer=link.stripe_id,
            payment_method_types=record.payment_method_types,
            capture_method=record.capture_method,
            metadata=intent_metadata(record),
            payment_method=saved_payment_method.stripe_id if saved_payment_method else "",
            save_payment_method=save_payment_method,
        )
    except Exception:
        StripePaymentIntent.objects.filter(pk=record.pk, stripe_id__isnull=True).delete()
        raise
    record.stripe_id = remote.id
    record.secrets = {"client_secret": remote.client_secret}
    # The PaymentIntent's own creation time, the oldest possible: any webhook about it is newer.
    _copy_snapshot(record, remote, at=remote.created)
    record.save()
    return record


def _intent_row_create(
    *,
    invoice,
    by,
    amount,
    payment_method_types,
    capture_method,
    saved_payment_method,
    save_payment_method,
) -> StripePaymentIntent:
    locked = (
        Invoice.objects.select_for_update()
        .select_related("customer", "business")
        .get(pk=invoice.pk)
    )
    if locked.status not in PAYABLE_INVOICE_STATUSES:
        raise DomainError(f"A {locked.get_status_display().lower()} invoice cannot take payments.")
    if capture_method not in CaptureMethod.values:
        raise DomainError(f"'{capture_method}' is not a capture method.", field="capture_method")
    types = list(
        dict.fromkeys(payment_method_types or default_payment_method_types(locked.currency))
    )
    if unknown := sorted(set(types) - set(ALLOWED_TYPES)):
        raise DomainError(
            f"Unsupported payment method type(s): {', '.join(unknown)}.",
            field="payment_method_types",
        )
    if ACH in types and locked.currency != "USD":
        raise DomainError(
            "ACH bank debits are only for USD invoices.", field="payment_method_types"
        )
    if ACH in types and capture_method == CaptureMethod.MANUAL:
        raise DomainError(
            "A bank debit cannot be authorized now and captured later; use a card for deposits.",
            field="capture_method",
        )
    available = locked.balance_due - _in_flight_total(locked)
    amount = available if amount is None else Decimal(amount)
    if amount <= 0:
        raise DomainError(
            "Nothing is left to pay: the balance is paid or a payment is already processing.",
            field="amount",
        )
    if amount != amount.quantize(Decimal("0.01")):
        raise DomainError("An amount cannot have fractions of a cent.", field="amount")
    if amount > available:
        raise DomainError(
            f"The amount {amount} is more than what is left to pay ({available}).", field="amount"
        )
    if saved_payment_method is not None and (
        saved_payment_method.customer_id != locked.customer_id
        or saved_payment_method.detached_at is not None
    ):
        raise DomainError(
            "That saved payment method is not one of this customer's.",
            field="saved_payment_method",
        )

    if saved_payment_method is None and not save_payment_method:
        # A second tap, or the app coming back after a crash: hand out the same intent rather
        # than opening a second way to pay the same amount.
        for existing in StripePaymentIntent.objects.filter(
            invoice=locked,
            status__in=OPEN_INTENT_STATUSES,
            amount=amount,
            capture_method=capture_method,
            stripe_id__isnull=False,
            source=StripePaymentIntent.Source.FIELD_APP,
        ):
            if sorted(existing.payment_method_types) == sorted(types):
                return existing

    connection = stripe_connection_for(locked.business)
    attempt = (
        StripePaymentIntent.objects.filter(invoice=locked).aggregate(n=Max("attempt"))["n"] or 0
    ) + 1
    record = StripePaymentIntent.objects.create(
        business_id=locked.business_id,
        connection=connection,
        invoice=locked,
        customer=locked.customer,
        attempt=attempt,
        # pi:<invoice>:<attempt>:<amount>: a retried request is deduplicated by Stripe, while
        # a new amount after a refused attempt is a new request rather than a key conflict.
        idempotency_key=idempotency_key(
            "pi", locked.pk, attempt, to_minor(amount, locked.currency)
        ),
        amount=amount,
        currency=locked.currency,
        capture_method=capture_method,
        payment_method_types=types,
        created_by=by,
    )
    return record


def intent_metadata(record: StripePaymentIntent) -> dict[str, str]:
    return {
        "thorbis_business_id": str(record.business_id),
        "thorbis_invoice_id": str(record.invoice_id),
        "thorbis_invoice_number": record.invoice.number,
        "thorbis_intent_id": str(record.pk),
    }


def _copy_snapshot(record: StripePaymentIntent, remote: RemoteIntent, *, at) -> None:
    record.status = remote.status if remote.status in IntentStatus.values else record.status
    record.status_at = at
    if remote.amount:
        record.amount = remote.amount
    record.amount_received = remote.amount_received
    record.capture_method = remote.capture_method
    if remote.latest_charge:
        record.charge_id = remote.latest_charge
    if remote.payment_method_types:
        record.payment_method_types = list(remote.payment_method_types)
    record.failure_message = remote.failure_message
    if remote.status == IntentStatus.PROCESSING or tuple(record.payment_method_types) == (ACH,):
        record.method = PaymentMethod.ACH  # only bank debits wait in "processing"
    elif remote.status == IntentStatus.SUCCEEDED and not record.method:
        record.method = PaymentMethod.CARD


def intent_apply_snapshot(
    *,
    record: StripePaymentIntent,
    remote: RemoteIntent,
    at: dt.datetime,
    allow_refetch: bool = True,
) -> str:
    """Move the mirrored status to Stripe's, unless the snapshot is older. Returns the old status.

    The caller holds the row lock (select_for_update) and calls intent_fulfil afterwards.
    """
    previous = record.status
    if previous == remote.status:
        if record.status_at is None or at > record.status_at:
            # A declined attempt leaves the status where it was; only the error is new.
            new_failure = (
                remote.failure_message and remote.failure_message != record.failure_message
            )
            _copy_snapshot(record, remote, at=at)
            record.save()
            if new_failure:
                _after_transition(record, previous)
        return previous
    if previous in TERMINAL_INTENT_STATUSES:
        logger.info("stripe_intent_terminal_kept", intent=record.stripe_id, ignored=remote.status)
        return previous
    if record.status_at is not None and at < record.status_at:
        logger.info("stripe_intent_stale_snapshot", intent=record.stripe_id, ignored=remote.status)
        return previous
    if record.status_at is not None and at == record.status_at and allow_refetch:
        # Two different states stamped the same second: only Stripe knows which came last.
        remote = stripe_provider(record.connection).intent_retrieve(record.stripe_id)
    _copy_snapshot(record, remote, at=at)
    record.save()
    _after_transition(record, previous)
    return previous


def _after_transition(record: StripePaymentIntent, previous: str) -> None:
    failed = record.status == IntentStatus.REQUIRES_PAYMENT_METHOD and record.failure_message
    if not failed:
        return
    invoice = record.invoice
    if previous == IntentStatus.PROCESSING:
        kind, what = PaymentAlert.Kind.ACH_RETURNED, "The bank debit"
    else:
        kind, what = PaymentAlert.Kind.PAYMENT_FAILED, "A payment"
    payment_alert_raise(
        business_id=record.business_id,
        kind=kind,
        invoice=invoice,
        message=(
            f"{what} of {record.amount} {record.currency} for invoice {invoice.number} failed: "
            f"{record.failure_message} The invoice is open again with a balance of "
            f"{invoice.balance_due}."
        ),
        dedupe_key=f"intent-failed:{record.stripe_id}:{record.status_at.isoformat() if record.status_at else ''}",
    )


def intent_fulfil(*, record: StripePaymentIntent, at: dt.datetime | None) -> bool:
    """Record a succeeded PaymentIntent on its invoice, once. Returns True when it recorded."""
    if record.status != IntentStatus.SUCCEEDED or record.payment_id or record.unapplied_amount:
        return False
    received = record.amount_received or record.amount
    invoice = Invoice.objects.select_for_update().get(pk=record.invoice_id)
    applicable = (
        min(received, invoice.balance_due) if invoice.status in PAYABLE_INVOICE_STATUSES else ZERO
    )
    if applicable > 0:
        record.payment = payment_record(
            invoice=invoice,
            amount=applicable,
            method=record.method or PaymentMethod.CARD,
            received_at=at,
            reference=f"Stripe {record.stripe_id}"[:100],
        )
    record.unapplied_amount = received - applicable
    record.save(update_fields=["payment", "unapplied_amount", "updated_at"])
    if record.unapplied_amount > 0:
        payment_alert_raise(
            business_id=record.business_id,
            kind=PaymentAlert.Kind.OVERPAYMENT
            if applicable or invoice.status == "paid"
            else PaymentAlert.Kind.UNAPPLIED,
            invoice=invoice,
            message=(
                f"Stripe collected {received} {record.currency} ({record.stripe_id}) for invoice "
                f"{invoice.number}, but only {applicable} could be applied (invoice is "
                f"{invoice.get_status_display().lower()}). Refund {record.unapplied_amount} "
                "from the admin or apply it by hand."
            ),
            dedupe_key=f"unapplied:{record.stripe_id}",
        )
    if record.payment_id:
        from apps.payments.services.refunds import invoice_refunds_catch_up
        from apps.payments.tasks import payment_receipt_send_task

        # A refund or lost dispute delivered before this payment lowers the invoice now.
        invoice_refunds_catch_up(intent=record)
        transaction.on_commit(partial(payment_receipt_send_task.delay, record.pk))
    return record.payment_id is not None


@transaction.atomic
def payment_intent_capture(
    *, record: StripePaymentIntent, amount: Decimal | None = None, by: User | None = None
) -> StripePaymentIntent:
    """Capture an authorized deposit (all or part). The payment is recorded by the webhook."""
    locked = StripePaymentIntent.objects.select_for_update().get(pk=record.pk)
    if locked.status != IntentStatus.REQUIRES_CAPTURE:
        raise DomainError(
            f"Only an authorized payment can be captured; this one is {locked.get_status_display().lower()}."
        )
    if amount is not None:
        amount = Decimal(amount)
        if amount <= 0 or amount > locked.amount:
            raise DomainError(
                f"The capture must be more than 0 and at most the authorized {locked.amount}.",
                field="amount",
            )
    remote = stripe_provider(locked.connection).intent_capture(
        locked.stripe_id,
        amount=amount,
        currency=locked.currency,
        idempotency_key=idempotency_key("pi", locked.invoice_id, locked.attempt, "capture"),
    )
    _copy_snapshot(locked, remote, at=locked.status_at)
    if locked.status == IntentStatus.SUCCEEDED and not locked.amount_received:
        # Stripe reports amount_received; a fake that omits it must not turn 80 into 100.
        locked.amount_received = amount if amount is not None else locked.amount
    locked.save()
    return locked


@transaction.atomic
def payment_intent_cancel(
    *, record: StripePaymentIntent, by: User | None = None
) -> StripePaymentIntent:
    """Release an authorization or abandon an unpaid intent."""
    locked = StripePaymentIntent.objects.select_for_update().get(pk=record.pk)
    if locked.status in TERMINAL_INTENT_STATUSES or locked.status == IntentStatus.PROCESSING:
        raise DomainError(
            f"A payment that is {locked.get_status_display().lower()} cannot be canceled."
        )
    remote = stripe_provider(locked.connection).intent_cancel(
        locked.stripe_id,
        idempotency_key=idempotency_key("pi", locked.invoice_id, locked.attempt, "cancel"),
    )
    _copy_snapshot(locked, remote, at=locked.status_at)
    locked.save()
    return locked


def invoice_payment_state(invoice: Invoice) -> str:
    """What the technician and the customer see: paid, partially paid, processing or open."""
    if invoice.status == "paid":
        return "paid"
    if StripePaymentIntent.objects.filter(
        invoice=invoice, status=IntentStatus.PROCESSING, payment__isnull=True
    ).exists():
        return "processing"
    if invoice.amount_paid > 0 and invoice.status in PAYABLE_INVOICE_STATUSES:
        return "partially_paid"
    return invoice.status
