"""The matrix vendors as integration-framework providers: connect, test, then used by routing."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from apps.integrations.providers import ConnectionCheck, Provider, registry

from .base import LatLng
from .vendors import VENDORS, GoogleClient, HereClient, OsrmClient

routing_providers = registry("routing")

# Two points a few kilometres apart in Denver; any road network answers this.
_PROBE = [LatLng(39.7392, -104.9903), LatLng(39.7508, -104.9966)]


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

    def check_credentials(self) -> None:
        from apps.integrations.errors import NotConfigured

        if not self.connection.api_base_url:
            raise NotConfigured("Set the API base URL to your OSRM server, e.g. http://osrm:5000.")


@routing_providers.register
class GoogleMapsProvider(_MatrixProvider):
    key = "google_maps"
    display_name = "Google Distance Matrix"
    default_base_url = GoogleClient.default_base_url
    required_credentials = ("api_key",)
    rate_limits = GoogleClient.rate_limits


@routing_providers.register
class HereProvider(_MatrixProvider):
    key = "here"
    display_name = "HERE Matrix Routing"
    default_base_url = HereClient.default_base_url
    required_credentials = ("api_key",)
    rate_limits = HereClient.rate_limits
