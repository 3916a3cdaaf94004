"""Travel times: pick the business's matrix provider, fall back to the embedded model."""

from __future__ import annotations

import dataclasses

import structlog

from apps.integrations.models import ConnectionStatus, IntegrationConnection

from .base import LatLng, TravelMatrix, TravelTimeProvider
from .cache import CachedTravelTimes
from .embedded import EmbeddedTravelTimes
from .vendors import VENDORS

logger = structlog.get_logger(__name__)

# When a business has several matrix connections: its own OSRM first (free, no quota).
PREFERENCE = ("osrm", "here", "google_maps")


@dataclasses.dataclass(frozen=True)
class Choice:
    provider: TravelTimeProvider
    fallback: TravelTimeProvider  # used when the vendor fails mid-plan


def travel_times_for(business) -> Choice:
    embedded = EmbeddedTravelTimes(tz=str(business.timezone))
    connections = {
        c.provider: c
        for c in IntegrationConnection.objects.filter(
            business=business, provider__in=PREFERENCE, status=ConnectionStatus.CONNECTED
        ).order_by("-pk")
    }
    for key in PREFERENCE:
        if key in connections:
            vendor = VENDORS[key](connections[key])
            return Choice(CachedTravelTimes(vendor, tz=embedded.tz), embedded)
    return Choice(embedded, embedded)


__all__ = [
    "Choice",
    "EmbeddedTravelTimes",
    "LatLng",
    "TravelMatrix",
    "TravelTimeProvider",
    "travel_times_for",
]
