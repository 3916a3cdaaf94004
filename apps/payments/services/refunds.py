"""Refunds (from the admin, or made in Stripe's dashboard) and disputes (always from Stripe)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction

from apps.core.errors import DomainError
from apps.core.models import Refund as CoreRefund
from apps.core.models import User
from apps.core.money import money_sum
from apps.core.services.billing import payment_refund_record
from apps.core.timezones import format_local, zone_of
from apps.integrations.errors import RejectedError
from apps.integrations.models import IntegrationConnection
from apps.payments.conf import idempotency_key
from apps.payments.models import Dispute, IntentStatus, PaymentAlert, Refund, StripePaymentIntent
from apps.payments.models.intents import ZERO
from apps.payments.money import to_minor
from apps.payments.services.alerts import payment_alert_raise
from apps.payments.services.common import stripe_provider, webhook_refusal, webhook_row
from apps.payments.stripe_objects import RemoteCharge, RemoteDispute, RemoteRefund

DISPUTE_CLOSED = ("won", "lost", "warning_closed", "prevented")


def invoice_refund_record(
    *, intent: StripePaymentIntent, amount: Decimal, reference: str, reason: str, by=None
) -> CoreRefund | None:
    """Lower the invoice's paid amount through core once money has really gone back.

    Core's payment_refund_record publishes RefundRecorded (accounting subscribes) and reopens a
    paid invoice; its `reference` (the Stripe refund id, or the dispute id) makes a replayed
    webhook a no-op. Money kept as `unapplied_amount` (paid over the balance) is returned first:
    only what exceeds it was ever applied to the invoice. None when nothing is left to lower.
    """
    payment = intent.payment
    if payment is None or not reference:
        return None
    existing = payment.refunds.filter(reference=reference).first()
    if existing is not None:
        return existing
    returned = sum(
        (r.amount for r in intent.refunds.all() if r.status == Refund.Status.SUCCEEDED), ZERO
    )
    lost = sum((d.amount for d in intent.disputes.all() if d.status == "lost"), ZERO)
    from_payment = min(max(returned + lost - intent.unapplied_amount, ZERO), payment.amount)
    recorded = money_sum(payment.refunds.all())
    amount = min(Decimal(amount), from_payment - recorded)
    if amount <= 0:
        return None
    return payment_refund_record(
        payment=payment, amount=amount, reference=reference, reason=reason, by=by
    )


def invoice_refunds_catch_up(*, intent: StripePaymentIntent) -> None:
    """Record on the invoice what came back before the payment itself was recorded (webhooks
    arrive in any order: a charge.refunded can precede its payment_intent.succeeded)."""
    for refund in intent.refunds.filter(status=Refund.Status.SUCCEEDED).order_by("pk"):
        _refund_succeeded(refund)
    for dispute in intent.disputes.filter(status="lost").order_by("pk"):
        invoice_refund_record(
            intent=intent, amount=dispute.amount, reference=dispute.stripe_id, reason="dispute lost"
        )


def _refund_succeeded(refund: Refund) -> None:
    intent = StripePaymentIntent.objects.select_related("payment").get(pk=refund.payment_intent_id)
    invoice_refund_record(
        intent=intent,
        amount=refund.amount,
        reference=refund.stripe_id or "",
        reason=refund.get_reason_display() + (f": {refund.note}" if refund.note else ""),
        by=refund.requested_by,
    )


def refund_create(
    *,
    intent: StripePaymentIntent,
    amount: Decimal | None = None,
    reason: str = Refund.Reason.REQUESTED_BY_CUSTOMER,
    note: str = "",
    by: User | None = None,
) -> Refund:
    """Refund all or part of a succeeded payment. A refusal by Stripe stores nothing.

    As with PaymentIntents, the row and its key are committed before Stripe is called and
    removed again if the call fails; a retry derives the same key, so nothing is refunded twice.
    """
    with transaction.atomic():
        refund = _refund_row_create(intent=intent, amount=amount, reason=reason, note=note, by=by)
    locked = refund.payment_intent
    try:
        remote = stripe_provider(locked.connection).refund_create(
            idempotency_key=refund.idempotency_key,
            payment_intent=locked.stripe_id,
            amount=refund.amount,
            currency=locked.currency,
            reason=reason,
            metadata={
                "thorbis_refund_id": str(refund.pk),
                "thorbis_invoice_id": str(locked.invoice_id),
            },
        )
    except Exception as exc:
        Refund.objects.filter(pk=refund.pk, stripe_id__isnull=True).delete()
        if isinstance(exc, RejectedError):
            raise DomainError(str(exc), field="amount") from exc
        raise
    with transaction.atomic():
        refund = Refund.objects.select_for_update().get(pk=refund.pk)
        if refund.stripe_id is None:  # a webhook may have been quicker
            refund.stripe_id = remote.id
            refund.status = (
                remote.status if remote.status in Refund.Status.values else refund.status
            )
            refund.failure_reason = remote.failure_reason
            refund.save(update_fields=["stripe_id", "status", "failure_reason", "updated_at"])
        if refund.status == Refund.Status.SUCCEEDED:
            _refund_succeeded(refund)
    return refund


def _refund_row_create(*, intent, amount, reason, note, by) -> Refund:
    locked = StripePaymentIntent.objects.select_for_update().get(pk=intent.pk)
    if locked.status != IntentStatus.SUCCEEDED:
        raise DomainError("Only a succeeded payment can be refunded.")
    refundable = locked.refundable_amount
    amount = refundable if amount is None else Decimal(amount)
    if amount <= 0 or amount > refundable:
        raise DomainError(
            f"A refund must be more than 0 and at most {refundable} {locked.currency}.",
            field="amount",
        )
    if reason not in Refund.Reason.values:
        raise DomainError(f"'{reason}' is not a refund reason.", field="reason")
    if locked.disputes.exclude(status__in=DISPUTE_CLOSED).exists():
        # Refunding during a dispute can pay the customer twice (the dispute already took it).
        raise DomainError("This payment is disputed; answer the dispute instead of refunding.")
    # Under the row lock the count is stable; the amount is in the key so that a retry of the
    # same refund is deduplicated by Stripe while a different amount is a new request.
    number = locked.refunds.count() + 1
    return Refund.objects.create(
        business_id=locked.business_id,
        payment_intent=locked,
        idempotency_key=idempotency_key(
            "re", locked.invoice_id, locked.attempt, number, to_minor(amount, locked.currency)
        ),
        amount=amount,
        currency=locked.currency,
        reason=reason,
        note=note,
        requested_by=by,
    )


def refund_apply_remote(*, intent: StripePaymentIntent, remote: RemoteRefund) -> Refund:
    """A refund as Stripe reports it: ours by id or metadata, or one made in the dashboard.

    A refund belongs to one PaymentIntent: an id held by another intent's refund is refused.
    """
    refund = webhook_row(
        Refund.objects.select_for_update(),
        connection=intent.connection,
        scope={"payment_intent": intent},
        what="Refund",
        stripe_id=remote.id,
    )
    if refund is None and remote.metadata.get("thorbis_refund_id", "").isdigit():
        refund = (
            Refund.objects.select_for_update()
            .filter(pk=int(remote.metadata["thorbis_refund_id"]), payment_intent=intent)
            .first()
        )
    status = remote.status if remote.status in Refund.Status.values else Refund.Status.PENDING
    if refund is None:
        refund = Refund.objects.create(
            business_id=intent.business_id,
            payment_intent=intent,
            stripe_id=remote.id,
            amount=remote.amount,
            currency=remote.currency,
            reason=Refund.Reason.OTHER,
            note="Refunded in Stripe.",
            status=status,
        )
    elif refund.status != status or refund.stripe_id != remote.id:
        refund.stripe_id, refund.status = remote.id, status
        refund.failure_reason = remote.failure_reason
        refund.save(update_fields=["stripe_id", "status", "failure_reason", "updated_at"])
    if status == Refund.Status.SUCCEEDED:
        _refund_succeeded(refund)  # idempotent on the refund id, so a redelivery is a no-op
    if status == Refund.Status.FAILED:
        payment_alert_raise(
            business_id=intent.business_id,
            kind=PaymentAlert.Kind.REFUND_FAILED,
            invoice=intent.invoice,
            message=(
                f"The refund of {refund.amount} {refund.currency} on invoice "
                f"{intent.invoice.number} failed ({remote.failure_reason or 'no reason given'})."
            ),
            dedupe_key=f"refund-failed:{remote.id}",
        )
    return refund


def refunds_apply_charge(
    *, connection: IntegrationConnection, intent: StripePaymentIntent, charge: RemoteCharge
) -> list[Refund]:
    remotes = list(charge.refunds)
    if not charge.refunds_listed:
        # Newer API versions no longer embed refunds in the charge: ask for them.
        remotes = stripe_provider(connection).refunds_list(payment_intent=intent.stripe_id)
    return [refund_apply_remote(intent=intent, remote=r) for r in remotes]


def dispute_apply(
    *, connection: IntegrationConnection, remote: RemoteDispute, at: dt.datetime
) -> Dispute:
    """A dispute as Stripe reports it, on the receiving connection's payment; ids of another
    connection's payment or dispute are refused (EventRefused)."""
    intents = StripePaymentIntent.objects.all()
    scope = {"connection": connection}
    intent = None
    if remote.payment_intent:
        intent = webhook_row(
            intents,
            connection=connection,
            scope=scope,
            what="PaymentIntent",
            stripe_id=remote.payment_intent,
        )
    if intent is None and remote.charge:
        intent = webhook_row(
            intents, connection=connection, scope=scope, what="Charge", charge_id=remote.charge
        )
    if intent is not None:  # serialises with refunds of the same payment
        intent = (
            StripePaymentIntent.objects.select_for_update(of=("self",))
            .select_related("payment")
            .get(pk=intent.pk)
        )
    webhook_row(
        Dispute.objects.all(),
        connection=connection,
        scope={"business_id": connection.business_id},
        what="Dispute",
        stripe_id=remote.id,
    )
    dispute, created = Dispute.objects.select_for_update().get_or_create(
        stripe_id=remote.id,
        defaults={
            "business_id": connection.business_id,
            "payment_intent": intent,
            "invoice_id": intent.invoice_id if intent else None,
            "charge_id": remote.charge,
            "amount": remote.amount,
            "currency": remote.currency,
            "reason": remote.reason,
            "status": remote.status,
            "evidence_due_by": remote.evidence_due_by,
            "opened_at": remote.created,
            "status_at": at,
        },
    )
    if dispute.business_id != connection.business_id:  # created meanwhile by another account
        raise webhook_refusal(connection=connection, what=f"Dispute {remote.id}")
    if not created and (dispute.status_at is None or at >= dispute.status_at):
        dispute.status, dispute.status_at = remote.status, at
        dispute.amount, dispute.reason = remote.amount, remote.reason
        dispute.evidence_due_by = remote.evidence_due_by or dispute.evidence_due_by
        dispute.save()
    invoice_label = dispute.invoice.number if dispute.invoice else f"charge {remote.charge}"
    if created:
        due = (
            f" Respond by {format_local(remote.evidence_due_by, zone=zone_of(connection.business))}."
            if remote.evidence_due_by
            else ""
        )
        payment_alert_raise(
            business_id=connection.business_id,
            kind=PaymentAlert.Kind.DISPUTE_OPENED,
            invoice=dispute.invoice,
            customer=intent.customer if intent else None,
            message=(
                f"The customer disputed {remote.amount} {remote.currency} on {invoice_label} "
                f"(reason: {remote.reason or 'unknown'}).{due}"
            ),
            dedupe_key=f"dispute-opened:{remote.id}",
        )
    if dispute.status in DISPUTE_CLOSED:
        if dispute.closed_at is None:
            dispute.closed_at = at
            dispute.save(update_fields=["closed_at", "updated_at"])
        payment_alert_raise(
            business_id=connection.business_id,
            kind=PaymentAlert.Kind.DISPUTE_CLOSED,
            invoice=dispute.invoice,
            message=f"The dispute on {invoice_label} closed: {dispute.status}.",
            dedupe_key=f"dispute-closed:{remote.id}",
        )
    if dispute.status == "lost" and intent is not None:
        # The card network took the money back: to the invoice it is a refund.
        invoice_refund_record(
            intent=intent, amount=dispute.amount, reference=dispute.stripe_id, reason="dispute lost"
        )
    return dispute
