from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import Case, IntegerField, Value, When

from apps.core.errors import DomainError
from apps.core.models import Business, InvoiceStatus
from apps.integrations.models import ConnectionStatus, IntegrationConnection
from apps.integrations.providers import provider_for

if TYPE_CHECKING:
    from apps.payments.providers.stripe import StripeProvider

PAYABLE_INVOICE_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.OVERDUE)
STRIPE = "stripe"


def stripe_connection_for(business: Business) -> IntegrationConnection:
    """The business's Stripe account: a connected one first, then one not yet tested."""
    connection = (
        IntegrationConnection.objects.for_business(business)
        .filter(provider=STRIPE)
        .exclude(status__in=[ConnectionStatus.DISABLED, ConnectionStatus.NEEDS_RECONNECT])
        .annotate(
            rank=Case(
                When(status=ConnectionStatus.CONNECTED, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            )
        )
        .order_by("rank", "pk")
        .first()
    )
    if connection is None:
        raise DomainError(
            "Card and bank payments are not set up: connect a Stripe account first.",
            code="payments_not_configured",
        )
    return connection


def stripe_provider(connection: IntegrationConnection) -> StripeProvider:
    return provider_for(connection)  # type: ignore[return-value]


def publishable_key(connection: IntegrationConnection) -> str:
    return str((connection.credentials or {}).get("publishable_key", ""))
