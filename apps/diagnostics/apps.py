from django.apps import AppConfig


class DiagnosticsConfig(AppConfig):
    """Test instruments over Bluetooth LE and refrigerant analysis (issue 7)."""

    name = "apps.diagnostics"
    label = "diagnostics"
