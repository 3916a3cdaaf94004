"""What a plan changes, per technician and per job, before the dispatcher applies it."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection

from apps.core.models import WorkOrder, WorkOrderStatus
from apps.routing.models import RoutePlan, UnassignedReason

S = WorkOrderStatus
OPEN = (S.NEW, S.SCHEDULED, S.DISPATCHED, S.EN_ROUTE, S.ON_SITE)

# An ETA that moves less than this is not worth a text to the customer.
ETA_MOVE_MINUTES = 15


@dataclasses.dataclass
class TechnicianChange:
    technician_id: int
    name: str
    before: list[str]  # work order numbers in driving order
    after: list[str]
    added: list[str]
    removed: list[str]
    moved: list[tuple[str, dt.datetime, dt.datetime]]  # number, old ETA, new ETA

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed or self.moved or self.before != self.after)


@dataclasses.dataclass
class PlanDiff:
    baseline: str
    changes: list[TechnicianChange]
    newly_unassigned: list[str]
    work_orders_changed: tuple[int, ...]

    @property
    def changed(self) -> list[TechnicianChange]:
        return [c for c in self.changes if c.changed]


def _stops(plan: RoutePlan) -> dict[int, list[tuple[int, str, dt.datetime]]]:
    routes: dict[int, list[tuple[int, str, dt.datetime]]] = {}
    for tech_id, wo_id, number, eta in plan.stops.order_by("technician_id", "sequence").values_list(
        "technician_id", "work_order_id", "work_order__number", "eta"
    ):
        routes.setdefault(tech_id, []).append((wo_id, number, eta))
    return routes


def route_plan_diff(*, plan: RoutePlan) -> PlanDiff:
    baseline_plan = (
        RoutePlan.objects.filter(
            business_id=plan.business_id, date=plan.date, status=RoutePlan.Status.APPLIED
        )
        .exclude(pk=plan.pk)
        .first()
    )
    after = _stops(plan)
    involved = {wo for stops in after.values() for wo, _, _ in stops} | set(
        plan.unassigned.values_list("work_order_id", flat=True)
    )
    if baseline_plan is not None:
        before = _stops(baseline_plan)
        label = f"applied plan #{baseline_plan.pk}"
    else:
        label = "current assignments"
        before = {}
        rows = (
            WorkOrder.objects.filter(pk__in=involved, assigned_technician__isnull=False)
            .order_by("arrival_window_start", "pk")
            .values_list("assigned_technician_id", "pk", "number")
        )
        for tech_id, wo_id, number in rows:
            before.setdefault(tech_id, []).append((wo_id, number, None))
    names = {
        r.technician_id: str(r.technician) for r in plan.routes.select_related("technician__user")
    }
    # Jobs that stay with their technician outside the route are not lost by anyone.
    kept = set(
        plan.unassigned.filter(reason=UnassignedReason.KEPT).values_list("work_order_id", flat=True)
    )
    changes, touched = [], set()
    for tech_id in sorted(set(before) | set(after)):
        old, new = before.get(tech_id, []), after.get(tech_id, [])
        old_ids, new_ids = {w for w, _, _ in old}, {w for w, _, _ in new}
        old_eta = {w: eta for w, _, eta in old}
        moved = [
            (number, old_eta[w], eta)
            for w, number, eta in new
            if w in old_eta
            and old_eta[w] is not None
            and abs((eta - old_eta[w]).total_seconds()) >= ETA_MOVE_MINUTES * 60
        ]
        touched |= ((old_ids ^ new_ids) - kept) | {
            w for w, number, _ in new if number in {m[0] for m in moved}
        }
        changes.append(
            TechnicianChange(
                technician_id=tech_id,
                name=names.get(tech_id, f"Technician {tech_id}"),
                before=[n for _, n, _ in old],
                after=[n for _, n, _ in new],
                added=[n for w, n, _ in new if w not in old_ids],
                removed=[n for w, n, _ in old if w not in new_ids and w not in kept],
                moved=moved,
            )
        )
    planned_before = {w for stops in before.values() for w, _, _ in stops}
    newly_unassigned = list(
        plan.unassigned.filter(work_order_id__in=planned_before)
        .exclude(reason=UnassignedReason.KEPT)
        .values_list("work_order__number", flat=True)
    )
    return PlanDiff(
        baseline=label,
        changes=changes,
        newly_unassigned=newly_unassigned,
        work_orders_changed=tuple(sorted(touched)),
    )


# --- per job: what applying writes to the work orders ----------------------------------------
@dataclasses.dataclass(frozen=True)
class JobChange:
    """One work order that applying (all of the plan, or some technicians' routes) changes."""

    work_order_id: int
    number: str
    summary: str
    priority: str
    from_technician_id: int | None
    from_name: str  # "" when nobody has it now
    to_technician_id: int | None  # None: back to the unassigned queue
    to_name: str
    window_start: dt.datetime | None  # the window after applying
    window_end: dt.datetime | None
    window_is_new: bool  # the plan gives a job without a window one around its ETA
    eta: dt.datetime | None
    why: str = ""  # for a job going back to the queue: the plan's reason in words

    @property
    def unassigns(self) -> bool:
        return self.to_technician_id is None and self.from_technician_id is not None

    @property
    def reassigns(self) -> bool:
        return self.to_technician_id != self.from_technician_id


def window_around(eta: dt.datetime, minutes: int, tz) -> tuple[dt.datetime, dt.datetime]:
    """The window a job without one gets on apply: on half-hour boundaries around its ETA, which
    read well in a text ("between 10:30 and 12:30")."""
    local = eta.astimezone(tz)
    start = local.replace(minute=0 if local.minute < 30 else 30, second=0, microsecond=0)
    return start, start + dt.timedelta(minutes=minutes)


def route_plan_job_changes(
    *, plan: RoutePlan, technician_ids: Collection[int] | None = None
) -> list[JobChange]:
    """What applying the plan writes, job by job: who has it now, who gets it (or nobody), the
    window and the ETA. With `technician_ids`, only those technicians' routes are applied:
    they get their planned stops, and what they have now but the applied routes do not keep
    goes back to the queue.

    Jobs under way or dispatched are never taken from their technician (the planner keeps
    them), so the only jobs that can go back to the queue are scheduled ones.
    """
    from apps.routing.planning.policy import policy as current_policy

    chosen = None if technician_ids is None else set(technician_ids)
    tz = plan.business.timezone
    minutes = current_policy().arrival_window_minutes
    names: dict[int, str] = {}
    changes: list[JobChange] = []
    kept_on_routes: set[int] = set()
    stops = plan.stops.select_related(
        "technician__user", "work_order__assigned_technician__user"
    ).order_by("technician_id", "sequence")
    for stop in stops:
        names[stop.technician_id] = str(stop.technician)
        if chosen is not None and stop.technician_id not in chosen:
            continue
        order = stop.work_order
        kept_on_routes.add(order.pk)
        if order.status not in OPEN:
            continue
        moved_on = order.assigned_technician_id not in (None, stop.technician_id)
        if moved_on and order.status in (S.DISPATCHED, S.EN_ROUTE, S.ON_SITE):
            continue  # dispatched to someone since the plan was made: applying leaves it there
        start, end, new = order.arrival_window_start, order.arrival_window_end, False
        if start is None:
            (start, end), new = window_around(stop.eta, minutes, tz), True
        if order.assigned_technician_id == stop.technician_id and not new:
            continue
        changes.append(_change(order, stop.technician_id, str(stop.technician), start, end, new))
        changes[-1] = dataclasses.replace(changes[-1], eta=stop.eta)
    reasons = {
        u.work_order_id: u.detail for u in plan.unassigned.exclude(reason=UnassignedReason.KEPT)
    }
    # Scheduled jobs the applied routes no longer carry: the ones the plan could not fit, and
    # (applying some routes) what those technicians have that the plan gives to someone else.
    planned_elsewhere = set(plan.stops.values_list("work_order_id", flat=True)) - kept_on_routes
    candidates = WorkOrder.objects.filter(
        pk__in=set(reasons) | planned_elsewhere,
        status=S.SCHEDULED,
        assigned_technician__isnull=False,
    ).select_related("assigned_technician__user")
    for order in candidates.order_by("number"):
        if chosen is not None and order.assigned_technician_id not in chosen:
            continue
        why = reasons.get(order.pk) or (
            f"Planned for {names.get(_planned_tech(plan, order.pk), 'another technician')}, "
            "whose route is not applied now."
        )
        change = _change(
            order, None, "", order.arrival_window_start, order.arrival_window_end, False
        )
        changes.append(dataclasses.replace(change, why=why))
    return sorted(changes, key=lambda c: (not c.unassigns, c.number))


def _planned_tech(plan: RoutePlan, work_order_id: int) -> int | None:
    return (
        plan.stops.filter(work_order_id=work_order_id)
        .values_list("technician_id", flat=True)
        .first()
    )


def _change(order, to_id, to_name, start, end, new) -> JobChange:
    current = order.assigned_technician
    return JobChange(
        work_order_id=order.pk,
        number=order.number,
        summary=order.summary,
        priority=order.priority,
        from_technician_id=current.pk if current else None,
        from_name=str(current) if current else "",
        to_technician_id=to_id,
        to_name=to_name,
        window_start=start,
        window_end=end,
        window_is_new=new,
        eta=None,
    )
