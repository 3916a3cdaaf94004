"""The matrix vendors as integration-framework providers: connect, test, then used by routing."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from apps.integrations.providers import ConnectionCheck, Provider, registry
from apps.integrations.schema import CredentialField, FieldType, SettingField

from .base import LatLng
from .vendors import VENDORS, GoogleClient, HereClient, OsrmClient

routing_providers = registry("routing")

# Two points a few kilometres apart in Denver; any road network answers this.
_PROBE = [LatLng(39.7392, -104.9903), LatLng(39.7508, -104.9966)]

API_KEY = (CredentialField("api_key", "API key", required=True, help="The vendor's API key."),)
TIME_BANDS = SettingField(
    "time_bands",
    FieldType.BOOLEAN,
    default=True,
    help=(
        "One matrix per time band of the day (traffic-aware ETAs). false: one matrix for the "
        "planning start (the vendor bills per element)."
    ),
)


class _MatrixProvider(Provider):
    def test_connection(self) -> ConnectionCheck:
        self.check_credentials()
        adapter = VENDORS[self.key](self.connection)
        table = adapter.table(_PROBE, _PROBE, departure=timezone.now() + dt.timedelta(minutes=5))
        minutes = table.durations[0, 1] / 60
        return ConnectionCheck(
            ok=True, message=f"Matrix answered: {minutes:.1f} min across downtown Denver."
        )


@routing_providers.register
class OsrmProvider(_MatrixProvider):
    key = "osrm"
    display_name = "OSRM (self-hosted)"
    default_base_url = OsrmClient.default_base_url
    rate_limits = OsrmClient.rate_limits
    credential_fields = ()
    base_url_help = "Required: your OSRM server, e.g. http://osrm:5000."
    setting_fields = (
        SettingField(
            "profile",
            FieldType.TEXT,
            default="driving",
            help="The osrm-routed profile in the request path (driving, car, ...).",
        ),
        SettingField(
            "max_table_size",
            FieldType.INTEGER,
            default=100,
            min_value=2,
            help="The server's --max-table-size: larger tables are asked in blocks.",
        ),
    )

    def check_credentials(self) -> None:
        from apps.integrations.errors import NotConfigured

        if not self.connection.api_base_url:
            raise NotConfigured("Set the API base URL to your OSRM server, e.g. http://osrm:5000.")


@routing_providers.register
class GoogleMapsProvider(_MatrixProvider):
    key = "google_maps"
    display_name = "Google Distance Matrix"
    default_base_url = GoogleClient.default_base_url
    credential_fields = API_KEY
    rate_limits = GoogleClient.rate_limits
    setting_fields = (
        SettingField(
            "traffic_model",
            FieldType.CHOICE,
            default="best_guess",
            choices=("best_guess", "pessimistic", "optimistic"),
            help="Google's traffic_model for departure-time ETAs.",
        ),
        TIME_BANDS,
    )


@routing_providers.register
class HereProvider(_MatrixProvider):
    key = "here"
    display_name = "HERE Matrix Routing"
    default_base_url = HereClient.default_base_url
    credential_fields = API_KEY
    rate_limits = HereClient.rate_limits
    setting_fields = (
        SettingField(
            "transport_mode",
            FieldType.CHOICE,
            default="car",
            choices=("car", "truck", "pedestrian", "bicycle", "scooter", "taxi", "bus"),
            help="HERE's transportMode.",
        ),
        SettingField(
            "region_margin_m",
            FieldType.INTEGER,
            default=10_000,
            min_value=0,
            help="Metres around the points HERE may route through (autoCircle margin).",
        ),
        SettingField(
            "max_matrix_size",
            FieldType.INTEGER,
            default=500,
            min_value=1,
            help="Origins (and destinations) per request; larger matrices are asked in blocks.",
        ),
        TIME_BANDS,
    )
