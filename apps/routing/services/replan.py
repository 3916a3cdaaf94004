"""Automatic re-plans: an emergency comes in, a job is cancelled or runs long."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import partial

from django.db import transaction
from django.utils import timezone

from apps.core.models import Business, Priority, WorkOrder, WorkOrderStatus
from apps.routing.models import RoutePlan

S = WorkOrderStatus


def route_replan_request(
    *, business: Business, date: dt.date, trigger: str, trigger_key: str
) -> None:
    """Enqueue a re-plan after commit; the task makes a draft for the dispatcher to review."""
    from apps.routing.tasks import route_replan_task

    transaction.on_commit(
        partial(
            route_replan_task.delay,
            business_id=business.pk,
            date=date.isoformat(),
            trigger=trigger,
            trigger_key=trigger_key,
        )
    )


def replan_needed_for(*, work_order: WorkOrder, event: str, now: dt.datetime | None = None):
    """The day to re-plan when this work order changed, or None when no plan is affected.

    Only days with an applied plan are re-planned automatically: a business that does not plan
    routes never pays for a solver run.
    """
    now = now or timezone.now()
    tz = zoneinfo.ZoneInfo(str(work_order.business.timezone))
    today = now.astimezone(tz).date()
    applied = RoutePlan.objects.filter(
        business_id=work_order.business_id, status=RoutePlan.Status.APPLIED, date__gte=today
    )
    if event == "created":
        if work_order.priority != Priority.EMERGENCY or work_order.status in (S.CANCELLED,):
            return None
        day = today
        if work_order.arrival_window_start:
            day = max(today, work_order.arrival_window_start.astimezone(tz).date())
        return day if applied.filter(date=day).exists() else None
    plan = applied.filter(stops__work_order=work_order).order_by("date").first()
    return plan.date if plan else None
