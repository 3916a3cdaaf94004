"""Payment vendors. Only providers/stripe.py imports the Stripe SDK."""

from apps.integrations.providers import registry

payments_registry = registry("payments")
