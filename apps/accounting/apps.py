from django.apps import AppConfig


class AccountingConfig(AppConfig):
    """QuickBooks Online and Xero sync (issue 3)."""

    name = "apps.accounting"
    label = "accounting"
