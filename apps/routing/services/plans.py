"""Writes on route plans: create (optimise a day) and discard; applying is in apply.py."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from apps.core.errors import DomainError
from apps.core.models import Business, User, WorkOrderStatus
from apps.routing.models import RoutePlan, RouteStop, RouteUnassigned, TechnicianRoute
from apps.routing.planning.inputs import load_day
from apps.routing.planning.plan import DayPlan, plan_day
from apps.routing.planning.policy import policy as current_policy
from apps.routing.travel import travel_times_for

from .apply import ApplyNeedsConfirmation, route_plan_apply

__all__ = [
    "ApplyNeedsConfirmation",
    "applied_plan",
    "route_plan_apply",
    "route_plan_create",
    "route_plan_discard",
    "warm_routes_of",
]

S = WorkOrderStatus
MAX_TIME_LIMIT = 30.0


def applied_plan(*, business: Business, date: dt.date) -> RoutePlan | None:
    return RoutePlan.objects.filter(
        business=business, date=date, status=RoutePlan.Status.APPLIED
    ).first()


def warm_routes_of(plan: RoutePlan | None) -> dict[int, list[int]]:
    routes: dict[int, list[int]] = {}
    if plan is None:
        return routes
    for tech_id, wo_id in plan.stops.order_by("technician_id", "sequence").values_list(
        "technician_id", "work_order_id"
    ):
        routes.setdefault(tech_id, []).append(wo_id)
    return routes


def route_plan_create(
    *,
    business: Business,
    date: dt.date,
    by: User | None = None,
    time_limit: float | None = None,
    trigger: str = "",
    trigger_key: str = "",
    now: dt.datetime | None = None,
) -> RoutePlan:
    """Optimise one day from the current state and store the result as a draft.

    With an applied plan for the day this is a re-plan: jobs under way stay put and the applied
    routes seed the search, so the new plan changes only what it must.
    """
    if trigger_key:
        existing = RoutePlan.objects.filter(business=business, trigger_key=trigger_key).first()
        if existing is not None:
            return existing  # a redelivered task: the plan was made already
    if time_limit is not None and not 0 < time_limit <= MAX_TIME_LIMIT:
        raise DomainError(
            f"The time limit must be between 0 and {MAX_TIME_LIMIT:g} seconds.", field="time_limit"
        )
    now = now or timezone.now()
    rules = current_policy()
    day = load_day(business=business, date=date, policy=rules, now=now)
    baseline = applied_plan(business=business, date=date)
    replan = baseline is not None
    limit = time_limit or (rules.replan_seconds if replan else rules.plan_seconds)
    result = plan_day(
        day=day,
        policy=rules,
        travel=travel_times_for(business),
        time_limit=limit,
        warm_routes=warm_routes_of(baseline),
    )
    with transaction.atomic():
        plan = RoutePlan.objects.create(
            business=business,
            date=date,
            kind=RoutePlan.Kind.REPLAN if replan else RoutePlan.Kind.FULL,
            trigger=trigger[:200] or ("Re-plan" if replan else "Plan the day"),
            trigger_key=trigger_key,
            based_on=baseline,
            planned_at=now,
            kpis=result.kpis(),
            travel_source=result.dp.matrix.source,
            created_by=by,
        )
        _store(plan, result)
        if trigger_key:
            # An automatic re-plan replaces the automatic drafts nobody acted on yet.
            RoutePlan.objects.filter(
                business=business, date=date, status=RoutePlan.Status.DRAFT
            ).exclude(pk=plan.pk).exclude(trigger_key="").update(
                status=RoutePlan.Status.DISCARDED, decided_at=now
            )
    return plan


def _store(plan: RoutePlan, result: DayPlan) -> None:
    business_id = plan.business_id
    routes = TechnicianRoute.objects.bulk_create(
        [
            TechnicianRoute(
                business_id=business_id,
                plan=plan,
                technician_id=t.tech.id,
                start_at=t.start_at,
                end_at=t.end_at,
                start_latitude=Decimal(f"{t.tech.start_point.lat:.6f}"),
                start_longitude=Decimal(f"{t.tech.start_point.lng:.6f}"),
                drive_seconds=round(t.drive_seconds),
                distance_m=round(t.distance_m),
                overtime_minutes=t.overtime_minutes,
                lunch_start=t.lunch_start,
                lunch_minutes=t.lunch_minutes if t.lunch_start else 0,
                lunch_skipped=t.lunch_skipped,
            )
            for t in result.timelines
        ]
    )
    stops = []
    for route, timeline in zip(routes, result.timelines, strict=True):
        for sequence, stop in enumerate(timeline.stops, start=1):
            stops.append(
                RouteStop(
                    business_id=business_id,
                    plan=plan,
                    route=route,
                    technician_id=timeline.tech.id,
                    work_order_id=stop.job.id,
                    sequence=sequence,
                    eta=stop.eta,
                    service_start=stop.service_start,
                    departure=stop.departure,
                    drive_minutes=round(stop.drive_seconds / 60),
                    distance_m=round(stop.distance_m),
                    wait_minutes=round(stop.wait_seconds / 60),
                    window_start=stop.job.window_start,
                    window_end=stop.job.window_end,
                    fixed=stop.fixed,
                )
            )
    RouteStop.objects.bulk_create(stops)
    RouteUnassigned.objects.bulk_create(
        [
            RouteUnassigned(
                business_id=business_id,
                plan=plan,
                work_order_id=refusal.job.id,
                reason=refusal.reason,
                detail=refusal.detail[:300],
            )
            for refusal in result.unassigned
        ]
    )


@transaction.atomic
def route_plan_discard(*, plan: RoutePlan, by: User | None) -> RoutePlan:
    locked = RoutePlan.objects.select_for_update().get(pk=plan.pk)
    if locked.status != RoutePlan.Status.DRAFT:
        raise DomainError(
            f"Only a draft can be discarded; this plan is {locked.get_status_display().lower()}."
        )
    locked.status = RoutePlan.Status.DISCARDED
    locked.decided_by, locked.decided_at = by, timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    plan.status = locked.status
    return locked
