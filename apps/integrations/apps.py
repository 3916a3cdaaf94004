from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    """The integration framework every vendor adapter stands on."""

    name = "apps.integrations"
    label = "integrations"
