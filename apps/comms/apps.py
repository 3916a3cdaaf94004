from django.apps import AppConfig


class CommsConfig(AppConfig):
    """Twilio SMS and Voice, email through django-anymail (issue 4)."""

    name = "apps.comms"
    label = "comms"
