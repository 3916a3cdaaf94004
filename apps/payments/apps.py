from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """Stripe payments, maintenance agreements and webhooks (issue 5)."""

    name = "apps.payments"
    label = "payments"

    def ready(self) -> None:
        # Registers the Stripe provider and the inbox handler for "stripe" events.
        from apps.payments.providers import stripe  # noqa: F401
        from apps.payments.webhooks import handlers  # noqa: F401
