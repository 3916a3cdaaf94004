from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """Stripe payments, maintenance agreements and webhooks (issue 5)."""

    name = "apps.payments"
    label = "payments"
