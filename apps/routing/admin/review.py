"""Everything the plan review page shows, prepared outside the template."""

from __future__ import annotations

import zoneinfo

from django.db.models import Prefetch

from apps.core.models import Priority
from apps.routing.models import RoutePlan, RouteStop, TechnicianRoute, UnassignedReason
from apps.routing.planning.explain import clock_text, window_text
from apps.routing.services.diff import PlanDiff, route_plan_job_changes

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
                        # Closed before the plan was made: planned as soon as possible.
                        "missed": bool(s.window_end and s.window_end <= plan.planned_at),
                    }
                    for s in stops
                ],
            }
        )
    everything = list(plan.unassigned.select_related("work_order__location"))
    kept = [u for u in everything if u.reason == UnassignedReason.KEPT]
    unassigned = [u for u in everything if u.reason != UnassignedReason.KEPT]
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
    draft = plan.status == RoutePlan.Status.DRAFT
    return {
        "plan": plan,
        "kpis": plan.kpis,
        "map": svg(tracks, marks),
        "rows": rows,
        "emergencies": _emergencies(plan, rows, everything, tz),
        "kept": kept,
        "unassigned": unassigned,
        "job_changes": local_changes(route_plan_job_changes(plan=plan), tz) if draft else [],
        "applied_technicians": set(plan.kpis.get("applied_technicians", [])),
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


def _emergencies(plan: RoutePlan, rows, left_out, tz) -> list[dict]:
    """Every emergency of the plan: who goes and when, or why nobody does."""
    found = []
    for row in rows:
        for s in row["stops"]:
            if s["stop"].work_order.priority == Priority.EMERGENCY:
                found.append(
                    {"order": s["stop"].work_order, "technician": row["technician"],
                     "eta": clock_text(s["eta"], tz), "reason": None}
                )  # fmt: skip
    for item in left_out:
        if item.work_order.priority == Priority.EMERGENCY:
            found.append(
                {"order": item.work_order, "technician": None, "eta": None, "reason": item}
            )
    return sorted(found, key=lambda e: (e["reason"] is None, e["order"].number))


def local_changes(changes, tz) -> list[dict]:
    """Job changes with their times as words in the business's zone (8-10 AM, 10:40 AM)."""
    return [
        {
            "change": c,
            "window": window_text(c.window_start, c.window_end, tz) if c.window_start else "",
            "eta": clock_text(c.eta, tz) if c.eta else "",
        }
        for c in changes
    ]


def _window(stop: RouteStop, tz) -> str:
    order = stop.work_order
    if not order.arrival_window_start or not order.arrival_window_end:
        return "none yet"
    return (
        f"{order.arrival_window_start.astimezone(tz):%H:%M}-"
        f"{order.arrival_window_end.astimezone(tz):%H:%M}"
    )
