from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    """Integration health, reports and alerts (issue 8)."""

    name = "apps.monitoring"
    label = "monitoring"
    verbose_name = "Monitoring"

    def ready(self) -> None:
        from apps.monitoring.notify import slack

        slack.register()
