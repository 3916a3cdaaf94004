"""Everything the plan review page shows, prepared outside the template."""

from __future__ import annotations

import zoneinfo

from django.db.models import Prefetch

from apps.routing.models import RoutePlan, RouteStop, TechnicianRoute
from apps.routing.services.diff import PlanDiff

from .map import Track, colour, svg


def review_context(plan: RoutePlan, diff: PlanDiff | None) -> dict:
    tz = zoneinfo.ZoneInfo(str(plan.business.timezone))
    routes = list(
        TechnicianRoute.objects.filter(plan=plan)
        .select_related("technician__user")
        .prefetch_related(
            Prefetch(
                "stops",
                queryset=RouteStop.objects.select_related(
                    "work_order__customer", "work_order__location"
                ).order_by("sequence"),
            )
        )
    )
    tracks, rows = [], []
    for index, route in enumerate(routes):
        stops = list(route.stops.all())
        tech = route.technician
        if stops:
            points = [(float(route.start_latitude), float(route.start_longitude))]
            for stop in stops:
                loc = stop.work_order.location
                points.append((float(loc.latitude), float(loc.longitude)))
            points.append((float(tech.home_latitude), float(tech.home_longitude)))
            tracks.append(
                Track(
                    label=str(tech),
                    colour=colour(index),
                    points=points,
                    stop_labels=[
                        f"{s.sequence}. {s.work_order.number} ETA {s.eta.astimezone(tz):%H:%M}"
                        for s in stops
                    ],
                )
            )
        rows.append(
            {
                "technician": tech,
                "colour": colour(index),
                "route": route,
                "start": route.start_at.astimezone(tz),
                "end": route.end_at.astimezone(tz),
                "drive_minutes": round(route.drive_seconds / 60),
                "distance_km": round(route.distance_m / 1000, 1),
                "lunch": route.lunch_start.astimezone(tz) if route.lunch_start else None,
                "stops": [
                    {
                        "stop": s,
                        "eta": s.eta.astimezone(tz),
                        "start": s.service_start.astimezone(tz),
                        "departure": s.departure.astimezone(tz),
                        "window": _window(s, tz),
                    }
                    for s in stops
                ],
            }
        )
    unassigned = list(plan.unassigned.select_related("work_order__location"))
    marks = [
        (
            f"{u.work_order.number}: {u.get_reason_display()}",
            float(u.work_order.location.latitude),
            float(u.work_order.location.longitude),
        )
        for u in unassigned
        if u.work_order.location.latitude is not None
        and u.work_order.location.longitude is not None
    ]
    return {
        "plan": plan,
        "kpis": plan.kpis,
        "map": svg(tracks, marks),
        "rows": rows,
        "unassigned": unassigned,
        "diff": diff,
        "changed": [
            {
                "name": c.name,
                "added": c.added,
                "removed": c.removed,
                "after": c.after,
                "moved": [(n, old.astimezone(tz), new.astimezone(tz)) for n, old, new in c.moved],
            }
            for c in (diff.changed if diff else [])
        ],
    }


def _window(stop: RouteStop, tz) -> str:
    order = stop.work_order
    if not order.arrival_window_start or not order.arrival_window_end:
        return "none yet"
    return (
        f"{order.arrival_window_start.astimezone(tz):%H:%M}-"
        f"{order.arrival_window_end.astimezone(tz):%H:%M}"
    )
