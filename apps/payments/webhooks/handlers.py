"""Processing of stored Stripe events, in a worker (registered with the inbox as "stripe").

Each handler parses the event's object into a typed view, finds our row through the connection's
business, and calls one service. A handler that raises leaves the event `failed` with its error;
`manage.py replay_inbound_events --provider stripe` runs it again.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import structlog
from django.utils import timezone

from apps.core.models import Invoice
from apps.integrations.inbox import register_handler
from apps.integrations.models import InboundEvent, IntegrationConnection
from apps.payments.models import SavedPaymentMethod, StripePaymentIntent
from apps.payments.services import agreements, customers, intents, links, refunds
from apps.payments.services.intents import default_payment_method_types
from apps.payments.stripe_objects import (
    RemoteEvent,
    parse_charge,
    parse_checkout_session,
    parse_dispute,
    parse_event,
    parse_intent,
    parse_invoice,
    parse_payment_method,
    parse_subscription,
)

logger = structlog.get_logger(__name__)
EventHandler = Callable[[IntegrationConnection, RemoteEvent], None]
HANDLERS: dict[str, EventHandler] = {}


class UnroutableEvent(Exception):
    """No connection for the event's account yet; replay it once the account is connected."""


def handles(*types: str) -> Callable[[EventHandler], EventHandler]:
    def register(fn: EventHandler) -> EventHandler:
        for t in types:
            HANDLERS[t] = fn
        return fn

    return register


@register_handler("stripe")
def stripe_event_process(event: InboundEvent) -> None:
    remote = parse_event(json.loads(event.body))
    connection = event.connection
    if connection is None and remote.account:
        connection = IntegrationConnection.objects.filter(
            provider="stripe", external_account_id=remote.account
        ).first()
        if connection is not None:
            InboundEvent.objects.filter(pk=event.pk).update(
                connection=connection, business_id=connection.business_id
            )
    if connection is None:
        raise UnroutableEvent(f"No Stripe connection for account '{remote.account or '?'}'.")
    handler = HANDLERS.get(remote.type)
    if handler is None:
        logger.debug("stripe_event_unhandled", event_type=remote.type, event_id=remote.id)
        return
    handler(connection, remote)


def _intent_record(connection: IntegrationConnection, pi) -> StripePaymentIntent | None:
    qs = StripePaymentIntent.objects.select_for_update().select_related("invoice", "connection")
    record = qs.filter(stripe_id=pi.id, connection=connection).first()
    if record is not None:
        return record
    invoice_id = pi.metadata.get("thorbis_invoice_id", "")
    if not invoice_id.isdigit():
        return None  # not ours: a subscription invoice's intent, or made in the dashboard
    invoice = Invoice.objects.filter(business_id=connection.business_id, pk=int(invoice_id)).first()
    if invoice is None:
        return None
    record, _ = StripePaymentIntent.objects.get_or_create(
        stripe_id=pi.id,
        defaults={
            "business_id": connection.business_id,
            "connection": connection,
            "invoice": invoice,
            "customer_id": invoice.customer_id,
            "source": StripePaymentIntent.Source.PAYMENT_LINK
            if pi.metadata.get("thorbis_link_id")
            else StripePaymentIntent.Source.STRIPE,
            "amount": pi.amount,
            "currency": pi.currency,
            "capture_method": pi.capture_method,
            "payment_method_types": list(pi.payment_method_types)
            or default_payment_method_types(pi.currency),
        },
    )
    return qs.get(pk=record.pk)


@handles(
    "payment_intent.succeeded",
    "payment_intent.processing",
    "payment_intent.payment_failed",
    "payment_intent.canceled",
    "payment_intent.requires_action",
    "payment_intent.amount_capturable_updated",
)
def on_payment_intent(connection: IntegrationConnection, event: RemoteEvent) -> None:
    pi = parse_intent(event.object)
    record = _intent_record(connection, pi)
    if record is None:
        return
    intents.intent_apply_snapshot(record=record, remote=pi, at=event.created)
    intents.intent_fulfil(record=record, at=event.created)


@handles("charge.refunded", "charge.refund.updated")
def on_charge_refunded(connection: IntegrationConnection, event: RemoteEvent) -> None:
    charge = parse_charge(event.object)
    qs = StripePaymentIntent.objects.select_for_update().filter(connection=connection)
    record = (
        qs.filter(stripe_id=charge.payment_intent).first() if charge.payment_intent else None
    ) or (qs.filter(charge_id=charge.id).first())
    if record is None:
        return
    refunds.refunds_apply_charge(connection=connection, intent=record, charge=charge)


@handles(
    "charge.dispute.created",
    "charge.dispute.updated",
    "charge.dispute.closed",
    "charge.dispute.funds_withdrawn",
    "charge.dispute.funds_reinstated",
)
def on_dispute(connection: IntegrationConnection, event: RemoteEvent) -> None:
    refunds.dispute_apply(
        connection=connection, remote=parse_dispute(event.object), at=event.created
    )


@handles("invoice.payment_succeeded", "invoice.paid")
def on_invoice_paid(connection: IntegrationConnection, event: RemoteEvent) -> None:
    agreements.agreement_invoice_paid(
        connection=connection, remote=parse_invoice(event.object), at=event.created
    )


@handles("invoice.payment_failed")
def on_invoice_failed(connection: IntegrationConnection, event: RemoteEvent) -> None:
    agreements.agreement_invoice_failed(
        connection=connection, remote=parse_invoice(event.object), at=event.created
    )


@handles(
    "customer.subscription.created",
    "customer.subscription.updated",
    "customer.subscription.deleted",
    "customer.subscription.paused",
    "customer.subscription.resumed",
)
def on_subscription(connection: IntegrationConnection, event: RemoteEvent) -> None:
    agreements.agreement_apply_subscription(
        connection=connection, remote=parse_subscription(event.object), at=event.created
    )


@handles("checkout.session.completed", "checkout.session.async_payment_succeeded")
def on_checkout_completed(connection: IntegrationConnection, event: RemoteEvent) -> None:
    links.checkout_session_completed(
        connection=connection, session=parse_checkout_session(event.object), at=event.created
    )


@handles("setup_intent.succeeded")
def on_setup_intent(connection: IntegrationConnection, event: RemoteEvent) -> None:
    obj = event.object
    customers.saved_payment_method_record(
        connection=connection,
        payment_method_id=str(obj.get("payment_method") or ""),
        customer_stripe_id=str(obj.get("customer") or ""),
    )


@handles("payment_method.detached")
def on_payment_method_detached(connection: IntegrationConnection, event: RemoteEvent) -> None:
    pm = parse_payment_method(event.object)
    SavedPaymentMethod.objects.filter(
        stripe_id=pm.id, stripe_customer__connection=connection
    ).update(detached_at=timezone.now())
