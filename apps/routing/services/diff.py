"""What a plan changes, per technician, before the dispatcher applies it."""

from __future__ import annotations

import dataclasses
import datetime as dt

from apps.core.models import WorkOrder
from apps.routing.models import RoutePlan

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
        touched |= (old_ids ^ new_ids) | {
            w for w, number, _ in new if number in {m[0] for m in moved}
        }
        changes.append(
            TechnicianChange(
                technician_id=tech_id,
                name=names.get(tech_id, f"Technician {tech_id}"),
                before=[n for _, n, _ in old],
                after=[n for _, n, _ in new],
                added=[n for w, n, _ in new if w not in old_ids],
                removed=[n for w, n, _ in old if w not in new_ids],
                moved=moved,
            )
        )
    planned_before = {w for stops in before.values() for w, _, _ in stops}
    newly_unassigned = list(
        plan.unassigned.filter(work_order_id__in=planned_before).values_list(
            "work_order__number", flat=True
        )
    )
    return PlanDiff(
        baseline=label,
        changes=changes,
        newly_unassigned=newly_unassigned,
        work_orders_changed=tuple(sorted(touched)),
    )
