"""Processing of stored Stripe events, in a worker (registered with the inbox as "stripe").

Each handler parses the event's object into a typed view, finds our row within the receiving
connection (apps.payments.services.common.webhook_row), and calls one service. An id held by
another connection, or metadata of another business, raises EventRefused: the event is `refused`
and nothing is applied. A handler that raises anything else leaves the event `failed` with its
error; `manage.py replay_inbound_events --provider stripe` runs it again.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import structlog
from django.utils import timezone

from apps.integrations.errors import EventRefused
from apps.integrations.inbox import register_handler
from apps.integrations.models import InboundEvent, IntegrationConnection
from apps.payments.models import SavedPaymentMethod, StripePaymentIntent
from apps.payments.services import agreements, customers, intents, links, refunds
from apps.payments.services.common import stripe_connections_for_account, webhook_row
from apps.payments.services.mirror import intent_for_webhook
from apps.payments.stripe_objects import (
    RemoteEvent,
    RemoteIntent,
    parse_charge,
    parse_checkout_session,
    parse_dispute,
    parse_event,
    parse_intent,
    parse_invoice,
    parse_payment_method,
    parse_setup_intent,
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
        claims = stripe_connections_for_account(remote.account)
        if len(claims) > 1:
            raise EventRefused(
                f"Stripe account '{remote.account}' is claimed by more than one connection "
                "(their external_account_id); the event is routed to none of them."
            )
        connection = claims[0] if claims else None
        if connection is not None:
            InboundEvent.objects.filter(pk=event.pk).update(
                connection=connection, business_id=connection.business_id
            )
    if connection is None:
        raise UnroutableEvent(f"No Stripe connection for account '{remote.account or '?'}'.")
    if remote.account and connection.external_account_id not in ("", remote.account):
        raise EventRefused(
            f"The event is for Stripe account '{remote.account}', not this connection's.",
            connection=connection,
        )
    handler = HANDLERS.get(remote.type)
    if handler is None:
        logger.debug("stripe_event_unhandled", event_type=remote.type, event_id=remote.id)
        return
    handler(connection, remote)


def _intent_record(
    connection: IntegrationConnection, pi: RemoteIntent
) -> StripePaymentIntent | None:
    return intent_for_webhook(
        connection=connection,
        stripe_id=pi.id,
        metadata=pi.metadata,
        invoice_id=pi.metadata.get("thorbis_invoice_id", ""),
        source=StripePaymentIntent.Source.PAYMENT_LINK
        if pi.metadata.get("thorbis_link_id")
        else StripePaymentIntent.Source.STRIPE,
        amount=pi.amount,
        currency=pi.currency,
        capture_method=pi.capture_method,
        payment_method_types=list(pi.payment_method_types),
    )


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
    locked = StripePaymentIntent.objects.select_for_update()
    scope = {"connection": connection}
    record = None
    if charge.payment_intent:
        record = webhook_row(
            locked,
            connection=connection,
            scope=scope,
            what="PaymentIntent",
            stripe_id=charge.payment_intent,
        )
    if record is None:
        record = webhook_row(
            locked, connection=connection, scope=scope, what="Charge", charge_id=charge.id
        )
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
    setup = parse_setup_intent(event.object)
    customers.saved_payment_method_record(
        connection=connection,
        payment_method_id=setup.payment_method,
        customer_stripe_id=setup.customer,
    )


@handles("payment_method.detached")
def on_payment_method_detached(connection: IntegrationConnection, event: RemoteEvent) -> None:
    pm = parse_payment_method(event.object)
    method = webhook_row(
        SavedPaymentMethod.objects.select_for_update(),
        connection=connection,
        scope={"stripe_customer__connection": connection},
        what="PaymentMethod",
        stripe_id=pm.id,
    )
    if method is not None and method.detached_at is None:
        method.detached_at = timezone.now()
        method.save(update_fields=["detached_at", "updated_at"])
