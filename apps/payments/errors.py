"""Errors other apps may catch from payments services."""

from __future__ import annotations

from apps.core.errors import DomainError


class PaymentLinkUnavailable(DomainError):
    """No pay link can be given for this invoice, and retrying will not help until something
    changes: `code` is "payments_not_configured" (the business has no usable Stripe connection:
    none, disabled, or needing reconnect) or "nothing_to_pay" (paid, void, draft, or no balance).

    A DomainError, so API views answer it as a 400. Stripe being down or refusing is not this:
    those raise apps.integrations.errors.ProviderError subclasses (TemporaryError, RateLimited,
    RejectedError, AuthenticationError).
    """

    code = "payment_link_unavailable"
