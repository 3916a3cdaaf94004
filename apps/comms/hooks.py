"""Pluggable answers from other apps: the ETA (routing), the payment link (payments), the route.

Settings COMMS_ETA_PROVIDER / COMMS_PAYMENT_LINK_PROVIDER name a function by dotted path to
replace the defaults below, which use routing's applied plans and payments' Stripe links and fall
back to what works with nothing configured.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import structlog
from django.conf import settings
from django.utils import timezone
from django.utils.module_loading import import_string

from apps.core.errors import DomainError
from apps.integrations.errors import ProviderError

logger = structlog.get_logger(__name__)
AVERAGE_SPEED_KMH = 40.0  # urban driving incl. stops, for jobs without a planned stop
MIN_ETA_MINUTES = 10
ROUTE_STOPS_SHOWN = 6  # a summary longer than this costs segments and nobody reads it


def straight_line_eta_minutes(work_order) -> int | None:
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


def planned_eta_minutes(work_order) -> int | None:
    """Minutes until the applied plan's stop ETA (refreshed by the technician's GPS fixes)."""
    from apps.routing.services.etas import applied_stop_for

    stop = applied_stop_for(work_order=work_order)
    if stop is None or stop.eta <= timezone.now():
        return None  # no plan, or an ETA already passed that no fix has refreshed
    minutes = (stop.eta - timezone.now()).total_seconds() / 60
    return max(5, math.ceil(minutes / 5) * 5)  # "about 25 min" reads better than "23 min"


def default_eta_minutes(work_order) -> int | None:
    planned = planned_eta_minutes(work_order)
    return planned if planned is not None else straight_line_eta_minutes(work_order)


def eta_minutes(work_order) -> int | None:
    path = getattr(settings, "COMMS_ETA_PROVIDER", "")
    return (import_string(path) if path else default_eta_minutes)(work_order)


def configured_payment_link(invoice) -> str:
    from apps.comms.models import CommsSettings

    url = CommsSettings.for_business(invoice.business).payment_url
    return url.format(invoice_number=invoice.number) if url else ""


def default_payment_link(invoice) -> str:
    """The invoice's Stripe payment link; without Stripe, the business's own payment page."""
    from apps.payments.services.links import payment_link_get_or_create

    try:
        return payment_link_get_or_create(invoice=invoice).url
    except DomainError:
        pass  # no Stripe connection (or nothing left to pay): the configured page
    except ProviderError as exc:
        # Stripe refused or is down: a reminder with the business's page beats no reminder.
        logger.warning("payment_link_unavailable", invoice_id=invoice.pk, error=type(exc).__name__)
    return configured_payment_link(invoice)


def payment_link(invoice) -> str:
    path = getattr(settings, "COMMS_PAYMENT_LINK_PROVIDER", "")
    return (import_string(path) if path else default_payment_link)(invoice)


def route_summary(work_order) -> str:
    """The assigned technician's remaining stops in the applied plan holding this work order.

    Computed when the text is rendered, so a summary held for quiet hours shows the latest plan.
    """
    from apps.routing.services.etas import applied_stop_for, technician_remaining_stops

    stop = applied_stop_for(work_order=work_order)
    if stop is None:
        return ""
    stops = technician_remaining_stops(plan=stop.plan, technician_id=stop.technician_id)
    tz = work_order.business.timezone
    lines = [
        f"{n}) {timezone.localtime(s.eta, tz):%-I:%M %p} {s.work_order.number} "
        f"{s.work_order.location.address_line1 or s.work_order.location}"
        for n, s in enumerate(stops[:ROUTE_STOPS_SHOWN], start=1)
    ]
    if len(stops) > ROUTE_STOPS_SHOWN:
        lines.append(f"+{len(stops) - ROUTE_STOPS_SHOWN} more")
    return "; ".join(lines)


class LazyText:
    """A template value computed only if the template uses it (str.format calls __format__)."""

    def __init__(self, compute: Callable[[], str]):
        self._compute = compute
        self._value: str | None = None

    def __str__(self) -> str:
        if self._value is None:  # once, though the text and the email both use it
            self._value = str(self._compute())
        return self._value

    def __format__(self, spec: str) -> str:
        return format(str(self), spec)
