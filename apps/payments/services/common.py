from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from django.db.models import Case, IntegerField, Model, QuerySet, Value, When

from apps.core.errors import DomainError
from apps.core.models import Business, InvoiceStatus
from apps.integrations.errors import EventRefused
from apps.integrations.models import ConnectionStatus, IntegrationConnection
from apps.integrations.providers import provider_for

if TYPE_CHECKING:
    from apps.payments.providers.stripe import StripeProvider

PAYABLE_INVOICE_STATUSES = (InvoiceStatus.OPEN, InvoiceStatus.OVERDUE)
STRIPE = "stripe"
M = TypeVar("M", bound=Model)


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


def stripe_connections_for_account(account: str) -> list[IntegrationConnection]:
    """Connections claiming a Connect account id (at most two: one routes, two are ambiguous).

    `external_account_id` is editable by each business, so a second claim must not win the
    routing of the first business's events: an ambiguous account routes nowhere.
    """
    if not account:
        return []
    return list(
        IntegrationConnection.objects.filter(provider=STRIPE, external_account_id=account).order_by(
            "pk"
        )[:2]
    )


def stripe_provider(connection: IntegrationConnection) -> StripeProvider:
    return provider_for(connection)  # type: ignore[return-value]


def publishable_key(connection: IntegrationConnection) -> str:
    return str((connection.credentials or {}).get("publishable_key", ""))


def webhook_refusal(*, connection: IntegrationConnection, what: str) -> EventRefused:
    return EventRefused(
        f"{what} is not one of this Stripe connection's objects; refused.", connection=connection
    )


def webhook_row(
    queryset: QuerySet[M],
    *,
    connection: IntegrationConnection,
    scope: Mapping[str, Any],
    what: str,
    **lookup: Any,
) -> M | None:
    """The row a webhook names by a Stripe id, looked up within the receiving connection.

    `scope` narrows `queryset` to the connection (and business) that received the event. None
    when no row has the id at all (the caller may create one); EventRefused when a row outside
    the scope has it: one account's webhook never touches another account's objects, even when
    it carries their ids (a PaymentIntent id is visible inside its client secret).
    """
    row = queryset.filter(**scope, **lookup).first()
    if row is None and queryset.model._default_manager.filter(**lookup).exists():
        named = " ".join(str(v) for v in lookup.values())
        raise webhook_refusal(connection=connection, what=f"{what} {named}")
    return row


def webhook_metadata_check(
    *, connection: IntegrationConnection, metadata: Mapping[str, str], what: str
) -> None:
    """Objects we create carry `thorbis_business_id`; another business's id is refused."""
    claimed = metadata.get("thorbis_business_id", "")
    if claimed and claimed != str(connection.business_id):
        raise EventRefused(
            f"{what} was created for another business (thorbis_business_id={claimed}); refused.",
            connection=connection,
        )
