"""Stripe customers and the payment methods they saved."""

from __future__ import annotations

import uuid

import structlog
from django.db import transaction
from django.utils import timezone

from apps.core.errors import DomainError
from apps.core.models import Customer
from apps.integrations.errors import RejectedError
from apps.integrations.models import IntegrationConnection
from apps.payments.conf import idempotency_key
from apps.payments.models import SavedPaymentMethod, StripeCustomer
from apps.payments.services.common import (
    stripe_connection_for,
    stripe_provider,
    webhook_refusal,
    webhook_row,
)
from apps.payments.stripe_objects import RemotePaymentMethod

logger = structlog.get_logger(__name__)
SAVEABLE_TYPES = ("card", "us_bank_account")


def stripe_customer_ensure(
    *, connection: IntegrationConnection, customer: Customer
) -> StripeCustomer:
    """The customer's Stripe twin, created once.

    The Stripe call runs outside any transaction of ours so that a failure is still counted
    (activity rows) and flips the connection's status; concurrent callers send the same
    idempotency key, so Stripe hands both the same customer.
    """
    if customer.business_id != connection.business_id:
        raise DomainError("The customer belongs to another business.")
    link, _ = StripeCustomer.objects.get_or_create(
        connection=connection,
        customer=customer,
        defaults={
            "business_id": customer.business_id,
            "idempotency_key": idempotency_key("cus", connection.pk, customer.pk),
        },
    )
    if not link.stripe_id:
        stripe_id = stripe_provider(connection).customer_create(
            idempotency_key=link.idempotency_key,
            name=customer.display_name,
            email=customer.email,
            phone=str(customer.phone or ""),
            metadata={
                "thorbis_customer_id": str(customer.pk),
                "thorbis_business_id": str(customer.business_id),
            },
        )
        StripeCustomer.objects.filter(pk=link.pk, stripe_id="").update(stripe_id=stripe_id)
        link.refresh_from_db()
    return link


@transaction.atomic
def saved_payment_method_upsert(
    *, stripe_customer: StripeCustomer, remote: RemotePaymentMethod
) -> SavedPaymentMethod:
    """Remember a method of the customer's; an id held by another account's customer is refused
    (EventRefused), never re-pointed to this one."""
    kind = remote.type if remote.type in SAVEABLE_TYPES else SavedPaymentMethod.Type.OTHER
    values = {
        "business_id": stripe_customer.business_id,
        "stripe_customer": stripe_customer,
        "customer_id": stripe_customer.customer_id,
        "type": kind,
        "brand": remote.brand,
        "bank_name": remote.bank_name,
        "last4": remote.last4,
        "exp_month": remote.exp_month,
        "exp_year": remote.exp_year,
        "detached_at": None,
    }
    connection = stripe_customer.connection
    method = webhook_row(
        SavedPaymentMethod.objects.select_for_update().select_related("stripe_customer"),
        connection=connection,
        scope={"stripe_customer__connection": connection},
        what="PaymentMethod",
        stripe_id=remote.id,
    )
    if method is None:
        method, created = SavedPaymentMethod.objects.get_or_create(
            stripe_id=remote.id, defaults=values
        )
        if method.stripe_customer.connection_id != connection.pk:  # created meanwhile elsewhere
            raise webhook_refusal(connection=connection, what=f"PaymentMethod {remote.id}")
        if created:
            return method
    for field, value in values.items():
        setattr(method, field, value)
    method.save()
    return method


def saved_payment_methods_refresh(*, customer: Customer) -> list[SavedPaymentMethod]:
    """Mirror what Stripe holds for the customer; methods removed there are marked detached."""
    connection = stripe_connection_for(customer.business)
    link = stripe_customer_ensure(connection=connection, customer=customer)
    provider = stripe_provider(connection)
    seen = []
    for kind in SAVEABLE_TYPES:
        try:
            remotes = provider.payment_methods_list(customer=link.stripe_id, type=kind)
        except RejectedError:
            if kind == "card":
                raise
            # An account without ACH enabled refuses the type; cards are still listed.
            logger.info("stripe_payment_method_type_refused", type=kind, connection=connection.pk)
            continue
        for remote in remotes:
            seen.append(saved_payment_method_upsert(stripe_customer=link, remote=remote))
    SavedPaymentMethod.objects.filter(stripe_customer=link, detached_at__isnull=True).exclude(
        pk__in=[m.pk for m in seen]
    ).update(detached_at=timezone.now())
    return seen


def saved_payment_method_record(
    *, connection: IntegrationConnection, payment_method_id: str, customer_stripe_id: str
) -> SavedPaymentMethod | None:
    """From a webhook (setup_intent.succeeded, payment_method.attached): remember the method."""
    if not customer_stripe_id or not payment_method_id:
        return None
    link = webhook_row(
        StripeCustomer.objects.all(),
        connection=connection,
        scope={"connection": connection},
        what="Customer",
        stripe_id=customer_stripe_id,
    )
    if link is None:
        return None
    remote = stripe_provider(connection).payment_method_retrieve(payment_method_id)
    return saved_payment_method_upsert(stripe_customer=link, remote=remote)


def setup_intent_create(
    *, customer: Customer, payment_method_types: list[str], request_key: str = ""
) -> tuple[str, str]:
    """Save a card or bank account for later without charging: returns (id, client secret)."""
    unknown = sorted(set(payment_method_types) - set(SAVEABLE_TYPES))
    if unknown or not payment_method_types:
        raise DomainError(
            f"Payment method types must be among {', '.join(SAVEABLE_TYPES)}.",
            field="payment_method_types",
        )
    connection = stripe_connection_for(customer.business)
    link = stripe_customer_ensure(connection=connection, customer=customer)
    # The app may send its own Idempotency-Key so a retried tap reuses the same SetupIntent.
    key = idempotency_key("seti", link.pk, request_key or uuid.uuid4().hex)
    return stripe_provider(connection).setup_intent_create(
        customer=link.stripe_id, payment_method_types=payment_method_types, idempotency_key=key
    )
