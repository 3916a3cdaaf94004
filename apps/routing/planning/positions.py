"""Where technicians are when a plan starts: their phone's last fix, or failing that the job
they last finished today (at midday a technician is near their last job, not at home)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from apps.core.models import WorkOrderStatus, WorkOrderStatusChange
from apps.routing.models import TechnicianLocation
from apps.routing.travel import LatLng

from .policy import Policy

if TYPE_CHECKING:
    from .inputs import DayInput

S = WorkOrderStatus


def recent_positions(day: DayInput, policy: Policy) -> dict[int, LatLng]:
    since = day.now - dt.timedelta(minutes=policy.location_max_age_minutes)
    rows = (
        TechnicianLocation.objects.filter(
            business=day.business, recorded_at__gte=since, recorded_at__lte=day.now
        )
        .order_by("technician_id", "-recorded_at", "-pk")
        .values_list("technician_id", "latitude", "longitude")
    )
    latest: dict[int, LatLng] = {}
    for tech_id, lat, lng in rows:
        latest.setdefault(tech_id, LatLng(float(lat), float(lng)))
    return latest


def last_finished(day: DayInput) -> dict[int, LatLng]:
    """Where each technician finished their latest job today (the address of that job)."""
    rows = (
        WorkOrderStatusChange.objects.filter(
            business=day.business,
            to_status=S.COMPLETED,
            changed_at__gte=day.day_start,
            changed_at__lte=day.now,
            work_order__assigned_technician__isnull=False,
            work_order__location__latitude__isnull=False,
            work_order__location__longitude__isnull=False,
        )
        .order_by("work_order__assigned_technician_id", "-changed_at", "-pk")
        .values_list(
            "work_order__assigned_technician_id",
            "work_order__location__latitude",
            "work_order__location__longitude",
        )
    )
    latest: dict[int, LatLng] = {}
    for tech_id, lat, lng in rows:
        latest.setdefault(tech_id, LatLng(float(lat), float(lng)))
    return latest
