from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The shared domain: businesses (tenants), people, customers, work orders, invoices."""

    name = "apps.core"
    label = "core"

    def ready(self) -> None:
        from django_structlog import signals

        signals.bind_extra_request_metadata.connect(bind_client_address, dispatch_uid="core-ip")

        from apps.core.timezones import install_abbreviation_for_repeated_hours

        install_abbreviation_for_repeated_hours()


def bind_client_address(request, logger, log_kwargs, **kwargs) -> None:
    """Request logs carry the client address under our proxy rule (apps/core/net.py), not
    django-ipware's guess from whatever X-Forwarded-For a client sends
    (DJANGO_STRUCTLOG_IP_LOGGING_ENABLED is off in settings)."""
    import structlog

    from apps.core.net import client_address

    structlog.contextvars.bind_contextvars(ip=client_address(request))
