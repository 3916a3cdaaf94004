from django.apps import AppConfig


class CommsConfig(AppConfig):
    """Twilio SMS and Voice, email through django-anymail (issue 4)."""

    name = "apps.comms"
    label = "comms"

    def ready(self) -> None:
        # Subscribe to domain events, register the inbox handler and anymail's tracking receiver.
        from apps.comms import handlers  # noqa: F401
        from apps.comms.providers.twilio import TwilioProvider
        from apps.comms.services import email, inbound  # noqa: F401
        from apps.integrations.providers import registry

        registry("comms").register(TwilioProvider)
