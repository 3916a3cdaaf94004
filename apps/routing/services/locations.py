"""Technicians' positions: store them, refresh the ETAs of their remaining stops."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError
from apps.core.models import Technician, WorkOrder, WorkOrderStatus
from apps.integrations.errors import ProviderError
from apps.routing.events import TechnicianEtasUpdated
from apps.routing.models import RoutePlan, RouteStop, TechnicianLocation, TechnicianRoute
from apps.routing.planning.inputs import DayInput, JobInput, TechInput
from apps.routing.planning.policy import policy as current_policy
from apps.routing.planning.timeline import timeline_for
from apps.routing.travel import LatLng, travel_times_for

S = WorkOrderStatus
REMAINING = (S.NEW, S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE)
# A phone's clock may run a little ahead; more than this is a bad timestamp, not drift.
CLOCK_SKEW = dt.timedelta(minutes=5)


@dataclasses.dataclass
class LocationUpdate:
    location: TechnicianLocation
    plan: RoutePlan | None
    stops: list[RouteStop]  # remaining stops with refreshed ETAs, in order
    overrun: WorkOrder | None = None  # the on-site job running past its estimate, if any


def technician_location_record(
    *,
    technician: Technician,
    latitude: Decimal | float,
    longitude: Decimal | float,
    recorded_at: dt.datetime | None = None,
    accuracy_m: int | None = None,
    now: dt.datetime | None = None,
) -> LocationUpdate:
    now = now or timezone.now()
    recorded_at = recorded_at or now
    if timezone.is_naive(recorded_at):
        raise DomainError("The time of the fix must include a time zone.", field="recorded_at")
    if recorded_at > now + CLOCK_SKEW:
        raise DomainError("The time of the fix is in the future.", field="recorded_at")
    if not (-90 <= float(latitude) <= 90):
        raise DomainError("Latitude must be between -90 and 90.", field="latitude")
    if not (-180 <= float(longitude) <= 180):
        raise DomainError("Longitude must be between -180 and 180.", field="longitude")
    location = TechnicianLocation.objects.create(
        business_id=technician.business_id,
        technician=technician,
        latitude=Decimal(str(latitude)).quantize(Decimal("0.000001")),
        longitude=Decimal(str(longitude)).quantize(Decimal("0.000001")),
        accuracy_m=accuracy_m,
        recorded_at=recorded_at,
    )
    newer = (
        TechnicianLocation.objects.filter(technician=technician, recorded_at__gt=recorded_at)
        .exclude(pk=location.pk)
        .exists()
    )
    if newer:
        # A fix that arrives late (offline phone catching up) must not rewind the ETAs.
        return LocationUpdate(location=location, plan=None, stops=[])
    update = stop_etas_refresh(
        technician=technician,
        position=LatLng(float(location.latitude), float(location.longitude)),
        now=max(now, recorded_at),
        location=location,
    )
    if update.overrun is not None and update.plan is not None:
        from .replan import route_replan_request

        # Keyed by the job and the hour, so a technician posting every minute triggers one
        # re-plan per hour of overrun, not sixty.
        route_replan_request(
            business=technician.business,
            date=update.plan.date,
            trigger=f"{update.overrun.number} is running long",
            trigger_key=f"overrun:{update.overrun.pk}:{now:%Y%m%d%H}",
        )
    return update


def stop_etas_refresh(
    *, technician: Technician, position: LatLng, now: dt.datetime, location=None
) -> LocationUpdate:
    business = technician.business
    tz = zoneinfo.ZoneInfo(str(business.timezone))
    today = now.astimezone(tz).date()
    plan = RoutePlan.objects.filter(
        business=business, date=today, status=RoutePlan.Status.APPLIED
    ).first()
    if plan is None:
        return LocationUpdate(location=location, plan=None, stops=[])
    stops = list(
        plan.stops.filter(technician=technician, work_order__status__in=REMAINING)
        .select_related("work_order__location", "work_order__customer")
        .order_by("sequence")
    )
    route = TechnicianRoute.objects.filter(plan=plan, technician=technician).first()
    if not stops or route is None:
        return LocationUpdate(location=location, plan=plan, stops=[])
    rules = current_policy()
    day_start = dt.datetime.combine(today, dt.time(0)).replace(tzinfo=tz)
    tech = _tech_input(technician, plan, route, position, now, tz, today)
    jobs = [_job_input(stop.work_order, technician.pk, now) for stop in stops]
    points = [position, tech.home, *(j.point for j in jobs)]
    index = {p.rounded(): i for i, p in enumerate(points)}
    choice = travel_times_for(business)
    # Through the end of the day: vendor matrices come per traffic band, and later legs need
    # the band they are driven in.
    until = max(now, route.end_at, tech.latest_end)
    try:
        matrix = choice.provider.matrix(points, departure=now, until=until)
    except ProviderError:
        matrix = choice.fallback.matrix(points, departure=now, until=until)
    day = DayInput(
        business=business,
        date=today,
        tz=tz,
        day_start=day_start,
        now=now,
        technicians=[tech],
        jobs=jobs,
        skill_names={},
        part_names={},
        warnings=[],
    )
    lunch_left = 0 if route.lunch_start and route.lunch_start <= now else route.lunch_minutes
    timeline = timeline_for(
        day=day,
        policy=rules,
        matrix=matrix,
        locate=lambda p: index[p.rounded()],
        tech=tech,
        jobs=jobs,
        lunch_minutes=lunch_left,
    )
    for stop, timed in zip(stops, timeline.stops, strict=True):
        stop.eta, stop.service_start, stop.departure = (
            timed.eta,
            timed.service_start,
            timed.departure,
        )
        stop.drive_minutes = round(timed.drive_seconds / 60)
        stop.eta_updated_at = now
    with transaction.atomic():
        RouteStop.objects.bulk_update(
            stops, ["eta", "service_start", "departure", "drive_minutes", "eta_updated_at"]
        )
        events.publish_on_commit(
            TechnicianEtasUpdated(
                business_id=business.pk,
                technician_id=technician.pk,
                plan_id=plan.pk,
                work_order_ids=tuple(s.work_order_id for s in stops),
                occurred_at=now,
            )
        )
    overrun = _overrun(stops[0].work_order, now, rules.on_site_min_remaining_minutes)
    return LocationUpdate(location=location, plan=plan, stops=stops, overrun=overrun)


def _tech_input(technician, plan, route, position, now, tz, today) -> TechInput:
    shift_end = dt.datetime.combine(today, technician.shift_end).replace(tzinfo=tz)
    home = LatLng(float(technician.home_latitude), float(technician.home_longitude))
    return TechInput(
        id=technician.pk,
        name=str(technician),
        home=home,
        start_point=position,
        start_at=now,
        shift_start=dt.datetime.combine(today, technician.shift_start).replace(tzinfo=tz),
        shift_end=shift_end,
        lunch_minutes=route.lunch_minutes,
        max_overtime_minutes=technician.max_overtime_minutes,
        skills=frozenset(),
        stock={},
        position_source="gps",
    )


def _job_input(order: WorkOrder, technician_id: int, now: dt.datetime) -> JobInput:
    location = order.location
    point = (
        LatLng(float(location.latitude), float(location.longitude))
        if location.latitude is not None and location.longitude is not None
        else None
    )
    duration = order.estimated_duration_minutes
    if order.status == S.ON_SITE:
        since = order.status_changes.filter(to_status=S.ON_SITE).order_by("-changed_at").first()
        if since is not None:
            spent = (now - since.changed_at).total_seconds() / 60
            duration = max(current_policy().on_site_min_remaining_minutes, round(duration - spent))
    return JobInput(
        id=order.pk,
        number=order.number,
        summary=order.summary,
        customer_id=order.customer_id,
        customer_name=order.customer.display_name,
        point=point,
        window_start=order.arrival_window_start,
        window_end=order.arrival_window_end,
        duration_minutes=duration,
        skills=frozenset(),
        parts={},
        priority=order.priority,
        status=order.status,
        assigned_to=order.assigned_technician_id,
        fixed_to=technician_id if order.status in (S.EN_ROUTE, S.ON_SITE) else None,
    )


def _overrun(order: WorkOrder, now: dt.datetime, grace_minutes: int) -> WorkOrder | None:
    if order.status != S.ON_SITE:
        return None
    since = order.status_changes.filter(to_status=S.ON_SITE).order_by("-changed_at").first()
    if since is None:
        return None
    elapsed = (now - since.changed_at).total_seconds() / 60
    return order if elapsed > order.estimated_duration_minutes + grace_minutes else None
