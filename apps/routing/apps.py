from django.apps import AppConfig


class RoutingConfig(AppConfig):
    """Technician day planning and re-planning (issue 6)."""

    name = "apps.routing"
    label = "routing"
    verbose_name = "Routing"

    def ready(self) -> None:
        from apps.routing import receivers  # noqa: F401  (subscribes to work order events)
        from apps.routing.travel import providers  # noqa: F401  (registers osrm, google, here)
