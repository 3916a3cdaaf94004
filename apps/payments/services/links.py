"""Text-to-pay / email-to-pay links, and the Checkout Sessions they produce."""

from __future__ import annotations

import datetime as dt
from functools import partial

from django.db import transaction
from django.utils import timezone

from apps.core.errors import DomainError
from apps.core.models import Invoice
from apps.integrations.models import IntegrationConnection
from apps.payments.conf import idempotency_key
from apps.payments.errors import PaymentLinkUnavailable
from apps.payments.models import IntentStatus, PaymentLink, StripePaymentIntent
from apps.payments.models.intents import TERMINAL_INTENT_STATUSES
from apps.payments.services.common import (
    PAYABLE_INVOICE_STATUSES,
    stripe_connection_for,
    stripe_provider,
    webhook_metadata_check,
    webhook_row,
)
from apps.payments.services.intents import default_payment_method_types, intent_fulfil
from apps.payments.services.mirror import intent_for_webhook
from apps.payments.stripe_objects import RemoteCheckoutSession


def _metadata(invoice: Invoice) -> dict[str, str]:
    return {
        "thorbis_business_id": str(invoice.business_id),
        "thorbis_invoice_id": str(invoice.pk),
        "thorbis_invoice_number": invoice.number,
    }


@transaction.atomic
def payment_link_get_or_create(*, invoice: Invoice) -> PaymentLink:
    """The invoice's current pay link; a changed balance retires the old link for a new one.

    Comms puts `link.url` (a Stripe Payment Link, which does not expire) in invoice texts, emails
    and overdue reminders. Raises PaymentLinkUnavailable (a DomainError) when the business has no
    usable Stripe connection or the invoice has nothing to pay; Stripe being unreachable or
    refusing raises the integrations' ProviderError subclasses instead.
    """
    locked = Invoice.objects.select_for_update().select_related("business").get(pk=invoice.pk)
    if locked.status not in PAYABLE_INVOICE_STATUSES or locked.balance_due <= 0:
        raise PaymentLinkUnavailable(
            f"Invoice {locked.number} has nothing to pay.", code="nothing_to_pay"
        )
    try:
        connection = stripe_connection_for(locked.business)
    except DomainError as exc:
        raise PaymentLinkUnavailable(exc.message, code="payments_not_configured") from exc
    current = PaymentLink.objects.filter(
        invoice=locked, active=True, stripe_id__isnull=False
    ).first()
    if current is not None and current.amount == locked.balance_due:
        return current
    provider = stripe_provider(connection)
    for stale in PaymentLink.objects.filter(invoice=locked, active=True):
        payment_link_deactivate(link=stale)
    number = PaymentLink.objects.filter(invoice=locked).count() + 1
    link = PaymentLink.objects.create(
        business_id=locked.business_id,
        connection=connection,
        invoice=locked,
        idempotency_key=idempotency_key("plink", locked.pk, number),
        amount=locked.balance_due,
        currency=locked.currency,
    )
    metadata = {**_metadata(locked), "thorbis_link_id": str(link.pk)}
    link.stripe_price_id = provider.one_off_price_create(
        idempotency_key=f"{link.idempotency_key}:price",
        name=f"Invoice {locked.number}",
        amount=link.amount,
        currency=link.currency,
        metadata=metadata,
    )
    remote = provider.payment_link_create(
        idempotency_key=link.idempotency_key,
        price=link.stripe_price_id,
        payment_method_types=default_payment_method_types(locked.currency),
        metadata=metadata,
    )
    link.stripe_id, link.url = remote.id, remote.url
    link.save(update_fields=["stripe_price_id", "stripe_id", "url", "updated_at"])
    return link


def payment_link_deactivate(*, link: PaymentLink) -> PaymentLink:
    if link.stripe_id and link.active:
        stripe_provider(link.connection).payment_link_deactivate(
            link.stripe_id, idempotency_key=f"{link.idempotency_key}:deactivate"
        )
    link.active, link.deactivated_at = False, link.deactivated_at or timezone.now()
    link.save(update_fields=["active", "deactivated_at", "updated_at"])
    return link


def checkout_session_completed(
    *, connection: IntegrationConnection, session: RemoteCheckoutSession, at: dt.datetime
) -> StripePaymentIntent | None:
    """A customer paid through a link. Paid -> record now; a bank debit -> processing.

    The link and the PaymentIntent are looked up within the receiving connection; ids held by
    another connection are refused (EventRefused), never applied.
    """
    link = None
    if session.payment_link:
        link = webhook_row(
            PaymentLink.objects.select_for_update(),
            connection=connection,
            scope={"connection": connection},
            what="Payment Link",
            stripe_id=session.payment_link,
        )
    webhook_metadata_check(
        connection=connection, metadata=session.metadata, what=f"Checkout Session {session.id}"
    )
    invoice_id = session.metadata.get("thorbis_invoice_id") or (
        str(link.invoice_id) if link else ""
    )
    if link is not None and link.completed_at is None:
        link.completed_at = at
        link.save(update_fields=["completed_at", "updated_at"])
        from apps.payments.tasks import payment_link_deactivate_task

        # One link pays once; retiring it at Stripe is a vendor call, so it runs in a task.
        transaction.on_commit(partial(payment_link_deactivate_task.delay, link.pk))
    if not session.payment_intent:
        return None
    record = intent_for_webhook(
        connection=connection,
        stripe_id=session.payment_intent,
        metadata=session.metadata,
        invoice_id=invoice_id,
        source=StripePaymentIntent.Source.PAYMENT_LINK,
        amount=session.amount_total,
        currency=session.currency,
    )
    if record is None:
        return None
    if record.status in TERMINAL_INTENT_STATUSES:
        intent_fulfil(record=record, at=at)
        return record
    if session.payment_status == "paid":
        record.status, record.amount_received = IntentStatus.SUCCEEDED, session.amount_total
        record.method = record.method or "card"
    elif record.status != IntentStatus.PROCESSING:
        # "unpaid" on a completed session is a bank debit on its way (async payment).
        record.status, record.method = IntentStatus.PROCESSING, "ach"
    record.status_at = max(filter(None, [record.status_at, at]))
    record.save()
    intent_fulfil(record=record, at=at)
    return record
