from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared domain: businesses (tenants), people, customers, work orders, invoices."""

    name = "apps.core"
    label = "core"
