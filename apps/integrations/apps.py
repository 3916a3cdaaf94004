from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """The integration framework every vendor adapter stands on."""

    name = "apps.integrations"
    label = "integrations"

    def ready(self) -> None:
        from apps.integrations import handlers  # noqa: F401  (subscribe to domain events)
