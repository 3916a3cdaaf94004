from django.apps import AppConfig


class AccountingConfig(AppConfig):
    """QuickBooks Online and Xero sync (issue 3)."""

    name = "apps.accounting"
    label = "accounting"

    def ready(self) -> None:
        from apps.accounting import handlers, webhooks  # noqa: F401  (subscribe, register)
        from apps.accounting.providers.quickbooks import QuickBooksProvider
        from apps.accounting.providers.xero import XeroProvider
        from apps.accounting.services.oauth import connection_tokens_refresh
        from apps.integrations.providers import registry
        from apps.integrations.tokens import register_token_refresher

        accounting = registry("accounting")
        for provider in (QuickBooksProvider, XeroProvider):
            accounting.register(provider)
            register_token_refresher(provider.key, connection_tokens_refresh)
