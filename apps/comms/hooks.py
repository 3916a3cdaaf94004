"""Pluggable answers other apps may provide later: the ETA (routing) and the payment link (payments).

Settings COMMS_ETA_PROVIDER / COMMS_PAYMENT_LINK_PROVIDER name a function by dotted path; the
defaults below work with nothing configured.
"""

from __future__ import annotations

import math

from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

AVERAGE_SPEED_KMH = 40.0  # urban driving incl. stops; routing replaces this with a real route
MIN_ETA_MINUTES = 10


def default_eta_minutes(work_order) -> int | None:
    """Straight-line distance from the technician's base at city speed, else the window start."""
    tech, loc = work_order.assigned_technician, work_order.location
    if tech and tech.home_latitude is not None and loc.latitude is not None:
        lat1, lon1 = (
            math.radians(float(tech.home_latitude)),
            math.radians(float(tech.home_longitude)),
        )
        lat2, lon2 = math.radians(float(loc.latitude)), math.radians(float(loc.longitude))
        a = (
            math.sin((lat2 - lat1) / 2) ** 2
            + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
        )
        km = 2 * 6371 * math.asin(math.sqrt(a)) * 1.3  # roads are ~30 % longer than the crow flies
        return max(MIN_ETA_MINUTES, round(km / AVERAGE_SPEED_KMH * 60 / 5) * 5)
    if work_order.arrival_window_start and work_order.arrival_window_start > timezone.now():
        return int((work_order.arrival_window_start - timezone.now()).total_seconds() // 60)
    return None


def eta_minutes(work_order) -> int | None:
    path = getattr(settings, "COMMS_ETA_PROVIDER", "")
    return (import_string(path) if path else default_eta_minutes)(work_order)


def default_payment_link(invoice) -> str:
    from apps.comms.models import CommsSettings

    url = CommsSettings.for_business(invoice.business).payment_url
    return url.format(invoice_number=invoice.number) if url else ""


def payment_link(invoice) -> str:
    path = getattr(settings, "COMMS_PAYMENT_LINK_PROVIDER", "")
    return (import_string(path) if path else default_payment_link)(invoice)
