from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared domain: businesses (tenants), people, customers, work orders, invoices."""

    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from apps.core.timezones import install_abbreviation_for_repeated_hours

        install_abbreviation_for_repeated_hours()
