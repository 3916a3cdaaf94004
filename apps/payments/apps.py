from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """Stripe payments, maintenance agreements and webhooks (issue 5)."""

    name = "apps.payments"
    label = "payments"

    def ready(self) -> None:
        # Registers the Stripe provider and the inbox handler for "stripe" events.
        from django.db.models.signals import post_delete, post_save

        from apps.integrations.models import IntegrationConnection
        from apps.payments import receivers  # noqa: F401
        from apps.payments.providers import stripe  # noqa: F401
        from apps.payments.webhooks import handlers  # noqa: F401
        from apps.payments.webhooks.views import endpoint_cache_clear

        for signal in (post_save, post_delete):
            signal.connect(
                endpoint_cache_clear, sender=IntegrationConnection, dispatch_uid="stripe-endpoints"
            )
