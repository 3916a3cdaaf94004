"""Our mirror of a PaymentIntent that a webhook names, found or created within its connection.

Both payment_intent.* and checkout.session.completed may be the first to tell us about a payment
made through a link or in the dashboard; whichever comes first creates the row. The id is looked
up within the receiving connection only (apps.payments.services.common.webhook_row): an id that a
row of another connection holds is refused, never re-pointed or applied.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from apps.core.models import Invoice
from apps.integrations.models import IntegrationConnection
from apps.payments.models import StripePaymentIntent
from apps.payments.services.common import (
    webhook_metadata_check,
    webhook_refusal,
    webhook_row,
)
from apps.payments.services.intents import default_payment_method_types


def intent_for_webhook(
    *,
    connection: IntegrationConnection,
    stripe_id: str,
    metadata: Mapping[str, str],
    invoice_id: str,
    source: str,
    amount: Decimal,
    currency: str,
    capture_method: str = "automatic",
    payment_method_types: list[str] | None = None,
) -> StripePaymentIntent | None:
    """The connection's row for `stripe_id`, locked; created for one of the business's invoices
    when new. None when it is not ours (no row, no invoice of this business named)."""
    locked = StripePaymentIntent.objects.select_for_update().select_related("invoice", "connection")
    what = "PaymentIntent"
    record = webhook_row(
        locked,
        connection=connection,
        scope={"connection": connection},
        what=what,
        stripe_id=stripe_id,
    )
    if record is not None:
        return record
    webhook_metadata_check(connection=connection, metadata=metadata, what=f"{what} {stripe_id}")
    if not invoice_id.isdigit():
        return None  # not ours: a subscription invoice's intent, or made in the dashboard
    # Another business's invoice id answers exactly like a missing one.
    invoice = Invoice.objects.filter(business_id=connection.business_id, pk=int(invoice_id)).first()
    if invoice is None:
        return None
    record, _ = StripePaymentIntent.objects.get_or_create(
        stripe_id=stripe_id,
        defaults={
            "business_id": connection.business_id,
            "connection": connection,
            "invoice": invoice,
            "customer_id": invoice.customer_id,
            "source": source,
            "amount": amount,
            "currency": currency,
            "capture_method": capture_method,
            "payment_method_types": payment_method_types or default_payment_method_types(currency),
        },
    )
    if record.connection_id != connection.pk:  # created meanwhile by another connection's event
        raise webhook_refusal(connection=connection, what=f"{what} {stripe_id}")
    return locked.get(pk=record.pk)
