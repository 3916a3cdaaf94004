"""What the dispatch board shows for one business and one day, as plain JSON-ready data.

Times are minutes from the business's local midnight (the board's axis) plus labels in local
time, so the browser's own time zone never matters. Technicians' positions and ETAs come from
routing: the latest GPS fix, and the stops of the day's applied plan.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

from django.conf import settings
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import dateformat, timezone

from apps.core.models import Business, Priority, Technician, WorkOrder, WorkOrderStatus
from apps.core.models.work_orders import LINE_EDITABLE_STATUSES
from apps.routing.admin.map import Track, colour, svg
from apps.routing.models import RoutePlan, RouteStop, TechnicianLocation

from ..days import business_zone, day_bounds, local_today, minutes_into

S = WorkOrderStatus
NOT_STARTED = (S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE)
QUEUE_STATUSES = (S.NEW, S.SCHEDULED, S.ON_HOLD)
PRIORITY_RANK = {Priority.EMERGENCY: 0, Priority.HIGH: 1, Priority.NORMAL: 2}
POSITION_MAX_AGE = dt.timedelta(hours=2)  # an older fix says nothing about where they are now
QUEUE_LIMIT = 120
DEFAULT_WINDOW = dt.timedelta(hours=2)


def clock(moment: dt.datetime, tz) -> str:
    return dateformat.format(moment.astimezone(tz), "g:i A")


def window_label(start: dt.datetime | None, end: dt.datetime | None, tz) -> str:
    if start is None or end is None:
        return "No window yet"
    return f"{clock(start, tz)} \u2013 {clock(end, tz)}"


def board_for(*, business: Business, day: dt.date, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    tz = business_zone(business)
    start, end = day_bounds(business, day)
    is_today = day == local_today(business, now)
    in_day = Q(arrival_window_start__lt=end, arrival_window_end__gt=start)
    orders = list(
        WorkOrder.objects.filter(business=business)
        .filter(in_day)
        .exclude(status=S.CANCELLED)
        .select_related("customer", "location", "assigned_technician")
        .order_by("arrival_window_start", "number")
    )
    waiting = list(
        WorkOrder.objects.filter(
            business=business,
            assigned_technician__isnull=True,
            arrival_window_start__isnull=True,
            status__in=QUEUE_STATUSES,
        )
        .select_related("customer", "location")
        .order_by("-created_at")[:QUEUE_LIMIT]
    )
    techs = _technicians(business, {o.assigned_technician_id for o in orders})
    tech_ids = {t.pk for t in techs}
    stops = _applied_stops(business, day)
    positions = _positions(business, techs, now) if is_today else {}

    jobs, queue = [], []
    for order in orders:
        item = _job(order, start, tz, now, stops)
        if order.assigned_technician_id in tech_ids:
            jobs.append(item)
        elif order.assigned_technician_id is None and order.status in QUEUE_STATUSES:
            queue.append(item)
    queue += [_job(order, start, tz, now, stops) for order in waiting]
    queue.sort(
        key=lambda j: (PRIORITY_RANK.get(j["priority"], 9), j["start"] is None, j["start"] or 0)
    )

    rows = []
    for index, tech in enumerate(techs):
        shift = (
            tech.shift_start.hour * 60 + tech.shift_start.minute,
            tech.shift_end.hour * 60 + tech.shift_end.minute,
        )
        mine = [j for j in jobs if j["technician"] == tech.pk]
        rows.append(
            {
                "id": tech.pk,
                "name": str(tech),
                "colour": colour(index),
                "active": tech.active,
                "shift": list(shift),
                "shift_label": f"{_hm(shift[0])} \u2013 {_hm(shift[1])}",
                "position": positions.get(tech.pk),
                "late": any(j["late"] for j in mine),
                "jobs": len(mine),
                "home": _point(tech.home_latitude, tech.home_longitude),
            }
        )
    axis = _axis(rows, jobs)
    data = {
        "business": business.pk,
        "date": day.isoformat(),
        "date_label": dateformat.format(start, "l j F Y"),
        "timezone": str(tz),
        "is_today": is_today,
        "axis": axis,
        "technicians": rows,
        "jobs": jobs,
        "queue": queue,
        "routes": _routes(rows, jobs, stops),
        "map_svg": "" if settings.ROUTING_TILE_URL else str(_svg(rows, jobs, queue, stops)),
    }
    data["version"] = hashlib.sha256(
        json.dumps(data, sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    data["now"] = minutes_into(start, now) if is_today else None
    data["now_label"] = clock(now, tz)
    return data


def _technicians(business: Business, with_jobs: set) -> list[Technician]:
    return list(
        Technician.objects.filter(business=business)
        .filter(Q(active=True) | Q(pk__in=[pk for pk in with_jobs if pk]))
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "pk")
    )


def _applied_stops(business: Business, day: dt.date) -> dict[int, RouteStop]:
    """The applied plan's stops of the day, by work order."""
    plan = RoutePlan.objects.filter(
        business=business, date=day, status=RoutePlan.Status.APPLIED
    ).first()
    if plan is None:
        return {}
    return {s.work_order_id: s for s in RouteStop.objects.filter(plan=plan).order_by("sequence")}


def _positions(business: Business, techs: list[Technician], now: dt.datetime) -> dict[int, dict]:
    latest = TechnicianLocation.objects.filter(technician=OuterRef("pk")).order_by(
        "-recorded_at", "-pk"
    )
    rows = (
        Technician.objects.filter(business=business, pk__in=[t.pk for t in techs])
        .annotate(
            lat=Subquery(latest.values("latitude")[:1]),
            lng=Subquery(latest.values("longitude")[:1]),
            at=Subquery(latest.values("recorded_at")[:1]),
        )
        .values_list("pk", "lat", "lng", "at")
    )
    tz = business_zone(business)
    found = {}
    for pk, lat, lng, at in rows:
        if at is None or now - at > POSITION_MAX_AGE:
            continue
        found[pk] = {
            "lat": float(lat),
            "lng": float(lng),
            "at": clock(at, tz),
            "minutes_ago": max(0, int((now - at).total_seconds() // 60)),
        }
    return found


def _job(order: WorkOrder, day_start, tz, now, stops: dict[int, RouteStop]) -> dict:
    begin, finish = order.arrival_window_start, order.arrival_window_end
    stop = stops.get(order.pk)
    if stop is not None and stop.technician_id != order.assigned_technician_id:
        stop = None  # reassigned by hand since the plan: its ETA is someone else's
    late = bool(finish and now > finish and order.status in NOT_STARTED)
    at_risk = bool(stop and finish and stop.eta > finish and order.status in NOT_STARTED)
    location = order.location
    return {
        "id": order.pk,
        "number": order.number,
        "summary": order.summary,
        "customer": order.customer.display_name,
        "address": location.address_one_line if location else "",
        "point": _point(location.latitude, location.longitude) if location else None,
        "priority": order.priority,
        "priority_label": Priority(order.priority).label,
        "status": order.status,
        "status_label": S(order.status).label,
        "technician": order.assigned_technician_id,
        "start": minutes_into(day_start, begin) if begin else None,
        "end": minutes_into(day_start, finish) if finish else None,
        "window": window_label(begin, finish, tz),
        "length": int(((finish - begin) if begin and finish else DEFAULT_WINDOW).total_seconds())
        // 60,
        "eta": clock(stop.eta, tz) if stop else None,
        "sequence": stop.sequence if stop else None,
        "late": late,
        "at_risk": at_risk,
        "movable": order.status in LINE_EDITABLE_STATUSES,
        "url": reverse("admin:core_workorder_change", args=[order.pk]),
    }


def _point(lat, lng) -> list[float] | None:
    if lat is None or lng is None:
        return None
    return [float(lat), float(lng)]


def _hm(minutes: int) -> str:
    return clock(dt.datetime(2000, 1, 1, tzinfo=dt.UTC) + dt.timedelta(minutes=minutes), dt.UTC)


def _axis(rows: list[dict], jobs: list[dict]) -> dict:
    starts = [r["shift"][0] for r in rows] + [j["start"] for j in jobs if j["start"] is not None]
    ends = [r["shift"][1] for r in rows] + [j["end"] for j in jobs if j["end"] is not None]
    first = max(0, min([7 * 60, *starts]) // 60 * 60)
    last = min(24 * 60, -(-max([18 * 60, *ends]) // 60) * 60)
    return {"start": first, "end": last}


def _ordered(tech_id: int, jobs: list[dict], stops: dict[int, RouteStop]) -> list[dict]:
    mine = [j for j in jobs if j["technician"] == tech_id and j["point"]]
    return sorted(mine, key=lambda j: (j["sequence"] is None, j["sequence"] or 0, j["start"] or 0))


def _routes(rows: list[dict], jobs: list[dict], stops: dict[int, RouteStop]) -> list[dict]:
    """Each technician's day as a line: where they are (or home), their jobs in order, home."""
    routes = []
    for row in rows:
        mine = _ordered(row["id"], jobs, stops)
        if not mine:
            continue
        here = row["position"]
        start = [here["lat"], here["lng"]] if here else (row["home"] or mine[0]["point"])
        end = row["home"] or mine[-1]["point"]
        routes.append(
            {
                "technician": row["id"],
                "name": row["name"],
                "colour": row["colour"],
                "points": [start, *(j["point"] for j in mine), end],
                "stops": [j["number"] for j in mine],
            }
        )
    return routes


def _svg(rows, jobs, queue, stops) -> str:
    """Without a tile server the map is routing's plain SVG plot of the same routes."""
    tracks = [
        Track(r["name"], r["colour"], [tuple(p) for p in r["points"]], r["stops"])
        for r in _routes(rows, jobs, stops)
    ]
    marks = [(j["number"], *j["point"]) for j in queue if j["point"] and j["start"] is not None]
    return svg(tracks, marks)
