"""Matrix vendors: a self-hosted OSRM server, Google Distance Matrix, HERE Matrix Routing v8.

Each adapter only maps its vendor's request and response; ApiClient does timeouts, rate limits,
error mapping and counting. Big matrices are cut into blocks each vendor accepts in one request
(OSRM: --max-table-size coordinates; Google: 25 origins, 25 destinations, 100 elements; HERE
region mode, synchronous: 500 x 500) and stitched back together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import requests
from django.utils import timezone

from apps.integrations.errors import (
    AuthenticationError,
    RateLimited,
    RejectedError,
    TemporaryError,
)
from apps.integrations.http import ApiClient
from apps.integrations.models import IntegrationConnection
from apps.integrations.providers import RateLimitPolicy, connection_settings_stored

from .base import (
    UNREACHABLE_METRES,
    UNREACHABLE_SECONDS,
    LatLng,
    TravelTable,
    TravelTimeProvider,
    blocks,
    finite_or,
)


def _json(response: requests.Response, vendor: str) -> dict:
    try:
        body = response.json()
    except ValueError as exc:
        raise TemporaryError(f"{vendor} answered with something that is not JSON.") from exc
    if not isinstance(body, dict):
        raise TemporaryError(f"{vendor} answered with an unexpected JSON shape.")
    return body


class _VendorTravelTimes(TravelTimeProvider):
    client_class: type[ApiClient]

    def __init__(self, connection: IntegrationConnection):
        self.connection = connection
        self.client = self.client_class(connection)
        # The settings stored on the connection, typed (apps.integrations.schema).
        self.options = connection_settings_stored(connection)

    @property
    def time_bands(self) -> bool:
        """One matrix per time band (vendors that know traffic), unless the connection opts out."""
        return self.time_dependent and bool(self.connection.setting("time_bands"))

    @property
    def cache_namespace(self) -> str:
        # A different server or option set means different answers; credentials do not.
        options = ",".join(f"{k}={self.options[k]}" for k in sorted(self.options))
        return f"{self.source}:{self.connection.pk}:{self.client.base_url}:{options}"

    def _tiles(self, origins: int, destinations: int) -> tuple[int, int]:
        raise NotImplementedError

    def table(
        self, origins: Sequence[LatLng], destinations: Sequence[LatLng], *, departure: dt.datetime
    ) -> TravelTable:
        distances = np.full((len(origins), len(destinations)), UNREACHABLE_METRES)
        durations = np.full((len(origins), len(destinations)), UNREACHABLE_SECONDS)
        o_size, d_size = self._tiles(len(origins), len(destinations))
        for rows in blocks(len(origins), o_size):
            for cols in blocks(len(destinations), d_size):
                part = self._request(
                    [origins[i] for i in rows], [destinations[j] for j in cols], departure
                )
                distances[rows.start : rows.stop, cols.start : cols.stop] = part.distances
                durations[rows.start : rows.stop, cols.start : cols.stop] = part.durations
        return TravelTable(distances=distances, durations=durations)

    def _request(
        self, origins: list[LatLng], destinations: list[LatLng], departure: dt.datetime
    ) -> TravelTable:
        raise NotImplementedError


# --- OSRM --------------------------------------------------------------------------------------
class _BodyCheckingClient(ApiClient):
    """Vendors that answer HTTP 200 with an error status in the body.

    The check runs as a requests response hook, i.e. inside ApiClient's tracked() block, so the
    error is counted with its real outcome and an auth failure marks the connection.
    """

    def body_error(self, response: requests.Response) -> Exception | None:
        return None

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        def check(response, *args, **kw):
            if response.status_code == 200:
                error = self.body_error(response)
                if error is not None:
                    raise error
            return response

        kwargs.setdefault("hooks", {"response": check})
        return super().request(method, path, **kwargs)


class OsrmClient(_BodyCheckingClient):
    # Self-hosted: the limit protects our own server, not a vendor quota.
    rate_limits = RateLimitPolicy(max_in_flight=4)

    def body_error(self, response: requests.Response) -> Exception | None:
        body = _json(response, "OSRM")
        if body.get("code") != "Ok":
            return RejectedError(f"OSRM {body.get('code')}: {body.get('message', '')}".strip())
        return None

    def error_message(self, response: requests.Response) -> str:
        try:
            body = response.json()
            return f"OSRM {body.get('code', response.status_code)}: {body.get('message', '')}"
        except ValueError:
            return super().error_message(response)


class OsrmTravelTimes(_VendorTravelTimes):
    """OSRM's table service: GET /table/v1/{profile}/{lng,lat;...}?sources=&destinations=."""

    source = "osrm"
    client_class = OsrmClient

    def _tiles(self, origins: int, destinations: int) -> tuple[int, int]:
        # osrm-routed refuses tables with more coordinates than --max-table-size (default 100).
        limit = max(2, self.connection.setting("max_table_size"))
        if origins + destinations <= limit:
            return origins, destinations
        if origins < limit // 2:
            return origins, limit - origins
        if destinations < limit // 2:
            return limit - destinations, destinations
        return limit // 2, limit - limit // 2

    def _request(self, origins, destinations, departure) -> TravelTable:
        points = [*origins, *destinations]
        coords = ";".join(f"{p.lng:.6f},{p.lat:.6f}" for p in points)
        profile = self.connection.setting("profile")
        params = {
            "sources": ";".join(str(i) for i in range(len(origins))),
            "destinations": ";".join(str(len(origins) + j) for j in range(len(destinations))),
            "annotations": "duration,distance",
        }
        response = self.client.get(
            f"/table/v1/{profile}/{coords}", params=params, operation="GET table"
        )
        body = _json(response, "OSRM")
        return TravelTable(
            durations=_grid(body.get("durations"), len(origins), len(destinations), "OSRM", 1),
            distances=_grid(body.get("distances"), len(origins), len(destinations), "OSRM", 0),
        )


def _grid(rows, n: int, m: int, vendor: str, kind: int) -> np.ndarray:
    fallback = UNREACHABLE_SECONDS if kind else UNREACHABLE_METRES
    if not isinstance(rows, list) or len(rows) != n or any(len(r or []) != m for r in rows):
        raise TemporaryError(f"{vendor} returned a table of the wrong size.")
    return np.array([[finite_or(v, fallback) for v in row] for row in rows], dtype=float)


# --- Google Distance Matrix --------------------------------------------------------------------
GOOGLE_STATUS = {
    # Top-level statuses come with HTTP 200; map them to the error tree ourselves.
    "REQUEST_DENIED": "auth",
    "OVER_DAILY_LIMIT": "auth",  # key invalid or billing off: a person must act
    "OVER_QUERY_LIMIT": "rate",
    "UNKNOWN_ERROR": "temporary",
}


class GoogleClient(_BodyCheckingClient):
    default_base_url = "https://maps.googleapis.com"
    # 60,000 elements a minute at up to 100 elements a request.
    rate_limits = RateLimitPolicy(windows=((600, 60.0),), max_in_flight=4)

    def body_error(self, response: requests.Response) -> Exception | None:
        body = _json(response, "Google")
        status = body.get("status")
        if status == "OK":
            return None
        message = f"Google {status}: {body.get('error_message', '')}".strip()
        kind = GOOGLE_STATUS.get(status)
        if kind == "auth":
            return AuthenticationError(message, vendor_code=str(status))
        if kind == "rate":
            return RateLimited(message, retry_after=60, vendor_code=str(status))
        if kind == "temporary":
            return TemporaryError(message, vendor_code=str(status))
        return RejectedError(message, vendor_code=str(status))


class GoogleTravelTimes(_VendorTravelTimes):
    source = "google_maps"
    time_dependent = True
    client_class = GoogleClient

    def _tiles(self, origins: int, destinations: int) -> tuple[int, int]:
        # At most 25 origins, 25 destinations and 100 elements a request: the fewest requests.
        best = None
        for o in range(1, min(origins, 25) + 1):
            d = min(destinations, 25, 100 // o)
            count = -(-origins // o) * -(-destinations // d)
            if best is None or count < best[0]:
                best = (count, o, d)
        return best[1], best[2]

    def _request(self, origins, destinations, departure) -> TravelTable:
        # Google refuses departures in the past; traffic for "now" is the best it can do.
        when = max(departure, timezone.now())
        params = {
            "origins": "|".join(f"{p.lat:.6f},{p.lng:.6f}" for p in origins),
            "destinations": "|".join(f"{p.lat:.6f},{p.lng:.6f}" for p in destinations),
            "mode": "driving",
            "units": "metric",
            "departure_time": str(int(when.timestamp())),
            "traffic_model": self.connection.setting("traffic_model"),
            "key": self.connection.credentials.get("api_key", ""),
        }
        response = self.client.get(
            "/maps/api/distancematrix/json", params=params, operation="GET distancematrix"
        )
        rows = _json(response, "Google").get("rows") or []
        if len(rows) != len(origins):
            raise TemporaryError("Google returned a table of the wrong size.")
        durations = np.full((len(origins), len(destinations)), UNREACHABLE_SECONDS)
        distances = np.full((len(origins), len(destinations)), UNREACHABLE_METRES)
        for i, row in enumerate(rows):
            elements = row.get("elements") or []
            if len(elements) != len(destinations):
                raise TemporaryError("Google returned a row of the wrong size.")
            for j, element in enumerate(elements):
                if element.get("status") != "OK":
                    continue  # NOT_FOUND, ZERO_RESULTS: no road between the two
                timed = element.get("duration_in_traffic") or element.get("duration") or {}
                durations[i, j] = finite_or(timed.get("value"), UNREACHABLE_SECONDS)
                distances[i, j] = finite_or(
                    (element.get("distance") or {}).get("value"), UNREACHABLE_METRES
                )
        return TravelTable(distances=distances, durations=durations)


# --- HERE Matrix Routing v8 --------------------------------------------------------------------
class HereClient(ApiClient):
    default_base_url = "https://matrix.router.hereapi.com"
    rate_limits = RateLimitPolicy(windows=((10, 1.0),), max_in_flight=2)

    def error_message(self, response: requests.Response) -> str:
        try:
            body = response.json()
        except ValueError:
            return super().error_message(response)
        title = body.get("title") or body.get("error") or response.reason
        cause = body.get("cause") or body.get("error_description") or ""
        return f"HERE {response.status_code} {title}: {cause}".strip()


class HereTravelTimes(_VendorTravelTimes):
    """Region mode (an auto circle around the points): traffic-aware, up to 500 x 500 per call."""

    source = "here"
    time_dependent = True
    client_class = HereClient

    def _tiles(self, origins: int, destinations: int) -> tuple[int, int]:
        limit = self.connection.setting("max_matrix_size")
        return min(origins, limit), min(destinations, limit)

    def _request(self, origins, destinations, departure) -> TravelTable:
        payload = {
            "origins": [{"lat": p.lat, "lng": p.lng} for p in origins],
            "destinations": [{"lat": p.lat, "lng": p.lng} for p in destinations],
            "regionDefinition": {
                "type": "autoCircle",
                "margin": self.connection.setting("region_margin_m"),
            },
            "departureTime": departure.astimezone(dt.UTC).isoformat(timespec="seconds"),
            "transportMode": self.connection.setting("transport_mode"),
            "matrixAttributes": ["travelTimes", "distances"],
        }
        response = self.client.post(
            "/v8/matrix",
            params={"async": "false", "apiKey": self.connection.credentials.get("api_key", "")},
            json=payload,
            operation="POST matrix",
        )
        matrix = _json(response, "HERE").get("matrix") or {}
        n, m = len(origins), len(destinations)
        if matrix.get("numOrigins") != n or matrix.get("numDestinations") != m:
            raise TemporaryError("HERE returned a matrix of the wrong size.")
        times = matrix.get("travelTimes") or []
        metres = matrix.get("distances") or []
        errors = matrix.get("errorCodes") or [0] * (n * m)
        if len(times) != n * m or len(metres) != n * m or len(errors) != n * m:
            raise TemporaryError("HERE returned a matrix of the wrong size.")
        failed = np.array(errors, dtype=int).reshape(n, m) != 0  # 1 disconnected, 2 no match...
        durations = np.array([finite_or(v, UNREACHABLE_SECONDS) for v in times]).reshape(n, m)
        distances = np.array([finite_or(v, UNREACHABLE_METRES) for v in metres]).reshape(n, m)
        durations[failed] = UNREACHABLE_SECONDS
        distances[failed] = UNREACHABLE_METRES
        return TravelTable(distances=distances, durations=durations)


VENDORS: dict[str, type[_VendorTravelTimes]] = {
    "osrm": OsrmTravelTimes,
    "google_maps": GoogleTravelTimes,
    "here": HereTravelTimes,
}
