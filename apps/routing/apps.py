from django.apps import AppConfig


class RoutingConfig(AppConfig):
    """Technician day planning and re-planning (issue 6)."""

    name = "apps.routing"
    label = "routing"
