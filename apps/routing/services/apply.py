"""Applying a draft plan: all of it, or only some technicians' routes, never silently.

Applying writes the plan to the work orders through core's services (assign, window, schedule).
It never takes a job under way or dispatched from its technician (the planner keeps those; a
job dispatched since the plan was made is left alone and noted). When applying would send a
job back to the unassigned queue, it refuses with `ApplyNeedsConfirmation`, which carries the
list of changes for the dispatcher to read; calling again with `confirm=True` applies.

Applying some technicians' routes makes a new applied plan for the day: those technicians'
routes from the draft, everybody else's from the plan that was applied (minus the jobs the
applied routes took over). The draft stays a draft, so other routes can be applied later.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from django.db import transaction
from django.utils import timezone

from apps.core import events
from apps.core.errors import DomainError
from apps.core.models import Business, Technician, User, WorkOrder, WorkOrderStatus
from apps.core.services.work_orders import (
    work_order_assign,
    work_order_transition,
    work_order_window_set,
)
from apps.routing.events import RoutePlanApplied
from apps.routing.models import RoutePlan, RouteStop, RouteUnassigned

from .diff import JobChange, route_plan_diff, route_plan_job_changes

S = WorkOrderStatus
OPEN = (S.NEW, S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE)
KEPT = (S.DISPATCHED, S.EN_ROUTE, S.ON_SITE)


class ApplyNeedsConfirmation(DomainError):
    """Applying would put jobs back in the unassigned queue; nothing was changed."""

    code = "confirmation_required"

    def __init__(self, changes: list[JobChange]):
        self.changes = changes
        count = sum(1 for c in changes if c.unassigns)
        jobs = "job" if count == 1 else "jobs"
        super().__init__(
            f"Applying takes {count} {jobs} away from their technician and back to the "
            "unassigned queue. Check the changes and confirm to apply."
        )


@transaction.atomic
def route_plan_apply(
    *,
    plan: RoutePlan,
    by: User | None,
    technician_ids: Collection[int] | None = None,
    confirm: bool = False,
    now: dt.datetime | None = None,
) -> RoutePlan:
    """Write the plan's assignments and windows; returns the day's applied plan (the draft
    itself, or with `technician_ids` a new plan combining those routes with the applied one)."""
    now = now or timezone.now()
    # Applies of one business run one at a time, so two dispatchers applying two drafts for
    # the same day cannot both win; the second sees the first's result.
    list(Business.objects.select_for_update().filter(pk=plan.business_id).values_list("pk"))
    locked = RoutePlan.objects.select_for_update().select_related("business").get(pk=plan.pk)
    if locked.status != RoutePlan.Status.DRAFT:
        raise DomainError(
            f"Only a draft can be applied; this plan is {locked.get_status_display().lower()}."
        )
    if locked.date < now.astimezone(locked.business.timezone).date():
        raise DomainError("That day is over; its plan can no longer be applied.")
    chosen = _chosen(locked, technician_ids)
    changes = route_plan_job_changes(plan=locked, technician_ids=chosen)
    if any(c.unassigns for c in changes) and not confirm:
        raise ApplyNeedsConfirmation(changes)
    target = locked if chosen is None else _combined(locked, chosen, by, now)
    diff = route_plan_diff(plan=target)  # against the applied plan, before it is superseded
    notes = _write(target, changes, by, label=f"Route plan #{locked.pk}", only=chosen)
    RoutePlan.objects.filter(
        business_id=locked.business_id, date=locked.date, status=RoutePlan.Status.APPLIED
    ).update(status=RoutePlan.Status.SUPERSEDED)
    target.status = RoutePlan.Status.APPLIED
    target.decided_by, target.decided_at = by, now
    if notes:
        target.kpis = {**target.kpis, "apply_notes": notes}
    target.save(update_fields=["status", "decided_by", "decided_at", "kpis", "updated_at"])
    if chosen is not None:
        applied = sorted({*locked.kpis.get("applied_technicians", []), *chosen})
        locked.kpis = {**locked.kpis, "applied_technicians": applied}
        locked.save(update_fields=["kpis", "updated_at"])
    technicians = {c.technician_id for c in diff.changes if c.changed}
    technicians |= {c.from_technician_id for c in changes if c.unassigns}
    events.publish_on_commit(
        RoutePlanApplied(
            business_id=target.business_id,
            plan_id=target.pk,
            date=target.date,
            technician_ids=tuple(sorted(technicians)),
            work_order_ids=tuple(sorted({*diff.work_orders_changed, *_ids(changes)})),
            applied_by_id=by.pk if by else None,
            occurred_at=now,
        )
    )
    plan.status = locked.status
    return target


def _ids(changes: list[JobChange]) -> set[int]:
    return {c.work_order_id for c in changes}


def _chosen(plan: RoutePlan, technician_ids: Collection[int] | None) -> set[int] | None:
    if technician_ids is None:
        return None
    chosen = {int(t) for t in technician_ids}
    routed = set(plan.routes.values_list("technician_id", flat=True))
    if not chosen or chosen - routed:
        raise DomainError("Pick technicians who have a route in this plan.", field="technicians")
    return chosen


def _write(
    target: RoutePlan, changes: list[JobChange], by, *, label: str, only: set[int] | None
) -> list[str]:
    """The work-order writes: assign, give a window, schedule; unassign what the plan drops.
    With `only`, just those technicians' stops: the others' routes were copied from the plan
    applied before and are not this apply's to rewrite (a job reassigned by hand since stays)."""
    notes: list[str] = []
    by_job = {c.work_order_id: c for c in changes}
    stops = target.stops.select_related("technician").order_by("technician_id", "sequence")
    if only is not None:
        stops = stops.filter(technician_id__in=only)
    for stop in stops:
        order = WorkOrder.objects.select_for_update().get(pk=stop.work_order_id)
        if order.status not in OPEN:
            notes.append(f"{order.number} is {order.get_status_display().lower()}; left alone.")
            continue
        if order.assigned_technician_id not in (None, stop.technician_id) and order.status in KEPT:
            notes.append(
                f"{order.number} was dispatched to {order.assigned_technician} since the plan "
                "was made; left with them."
            )
            continue
        if order.assigned_technician_id != stop.technician_id:
            work_order_assign(work_order=order, technician=stop.technician, by=by)
        change = by_job.get(order.pk)
        if order.arrival_window_start is None and change is not None and change.window_is_new:
            start, end = change.window_start, change.window_end
            work_order_window_set(
                work_order=order, arrival_window_start=start, arrival_window_end=end, by=by
            )
            RouteStop.objects.filter(pk=stop.pk).update(window_start=start, window_end=end)
        if order.status == S.NEW:
            work_order_transition(work_order=order, to_status=S.SCHEDULED, by=by, note=label)
    for change in changes:
        if not change.unassigns:
            continue
        order = WorkOrder.objects.select_for_update().get(pk=change.work_order_id)
        if order.status != S.SCHEDULED or order.assigned_technician_id is None:
            continue  # moved on since the changes were listed
        # Booked with someone who cannot fit it now: back to the dispatcher's queue, with its
        # window kept for them.
        work_order_assign(work_order=order, technician=None, by=by)
        work_order_transition(
            work_order=order, to_status=S.NEW, by=by, note=f"{label}: {change.why}"[:500]
        )
    return notes


def _combined(draft: RoutePlan, chosen: set[int], by, now) -> RoutePlan:
    """A new plan for the day: the chosen technicians' routes from the draft, the others' from
    the applied plan without the jobs the chosen routes took over. Stored as a draft until the
    writes are done (one applied plan per day is a database constraint)."""
    previous = (
        RoutePlan.objects.filter(
            business_id=draft.business_id, date=draft.date, status=RoutePlan.Status.APPLIED
        )
        .select_for_update()
        .first()
    )
    names = ", ".join(
        str(t) for t in Technician.objects.filter(pk__in=chosen).select_related("user")
    )
    combined = RoutePlan.objects.create(
        business_id=draft.business_id,
        date=draft.date,
        kind=RoutePlan.Kind.REPLAN,
        trigger=f"{names}: route from plan #{draft.pk}"[:200],
        based_on=draft,
        planned_at=draft.planned_at,
        kpis={},
        travel_source=draft.travel_source,
        created_by=by,
    )
    taken = set(
        draft.stops.filter(technician_id__in=chosen).values_list("work_order_id", flat=True)
    )
    _copy_routes(draft, combined, draft.routes.filter(technician_id__in=chosen), skip=set())
    if previous is not None:
        others = previous.routes.exclude(technician_id__in=chosen)
        _copy_routes(previous, combined, others, skip=taken)
    planned = set(combined.stops.values_list("work_order_id", flat=True))
    left_out = {}
    for source in (previous, draft):
        for item in source.unassigned.all() if source is not None else ():
            if item.work_order_id not in planned:
                left_out[item.work_order_id] = item  # the draft's reason wins: it is newer
    RouteUnassigned.objects.bulk_create(
        [
            RouteUnassigned(
                business_id=combined.business_id,
                plan=combined,
                work_order_id=item.work_order_id,
                reason=item.reason,
                detail=item.detail,
            )
            for item in left_out.values()
        ]
    )
    combined.kpis = {
        "planned": len(planned),
        "unassigned": sum(1 for i in left_out.values() if i.reason != "kept"),
        "kept": sum(1 for i in left_out.values() if i.reason == "kept"),
        "technicians_applied": sorted(chosen),
        "warnings": [
            f"Only {names}'s route comes from plan #{draft.pk}; the other routes are the ones "
            "applied before, so their times do not account for the jobs moved to "
            f"{names}."
        ]
        if previous is not None
        else [],
    }
    combined.save(update_fields=["kpis", "updated_at"])
    return combined


def _copy_routes(source: RoutePlan, target: RoutePlan, routes, *, skip: set[int]) -> None:
    for route in routes:
        stops = [s for s in source.stops.filter(route=route).order_by("sequence")]
        stops = [s for s in stops if s.work_order_id not in skip]
        route.pk, route.plan = None, target
        route.save(force_insert=True)
        for sequence, stop in enumerate(stops, start=1):
            stop.pk, stop.plan, stop.route, stop.sequence = None, target, route, sequence
        RouteStop.objects.bulk_create(stops)
