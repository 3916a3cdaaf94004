"""Run the rules over a work order's readings and store the findings; overrides; trends."""

from __future__ import annotations

from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from apps.core.errors import DomainError
from apps.core.models import Equipment, User, WorkOrder
from apps.diagnostics import rules, thermo
from apps.diagnostics.models import (
    EquipmentProfile,
    Finding,
    FindingOverride,
    Phase,
    Reading,
    Severity,
)


def _barometric_psia(work_order: WorkOrder) -> float:
    """The job's latest barometric reading (either phase), else sea level."""
    latest = (
        Reading.objects.filter(work_order=work_order, quantity="barometric_pressure")
        .order_by("-taken_at", "-pk")
        .first()
    )
    return latest.canonical_value if latest else thermo.SEA_LEVEL_PSIA


def _groups(work_order: WorkOrder, phase: str) -> dict[Equipment | None, list[Reading]]:
    """Readings per piece of equipment. Unassigned readings (outdoor temperature, a probe the
    technician did not tag) go with the only equipment if the job has exactly one."""
    readings = list(
        Reading.objects.filter(work_order=work_order, phase=phase).select_related("equipment")
    )
    tagged: dict[Equipment | None, list[Reading]] = defaultdict(list)
    untagged = []
    for r in readings:
        (tagged[r.equipment] if r.equipment_id else untagged).append(r)
    if not tagged:
        job_equipment = list(work_order.equipment.all()[:2])
        owner = job_equipment[0] if len(job_equipment) == 1 else None
        return {owner: untagged} if untagged else {}
    for group in tagged.values():
        group.extend(untagged)
    return dict(tagged)


def _inputs(equipment: Equipment | None, readings: list[Reading], baro: float) -> rules.Inputs:
    latest: dict[str, Reading] = {}
    for r in sorted(readings, key=lambda r: (r.taken_at, r.pk)):
        latest[r.quantity] = r  # the last value taken is the stabilised one
    values = {q: rules.Measured(r.canonical_value, (r.pk,)) for q, r in latest.items()}
    profile = None
    if equipment is not None:
        profile = EquipmentProfile.objects.filter(equipment=equipment).first()
    return rules.Inputs(
        values=values,
        refrigerant=(equipment.refrigerant if equipment else "") or "",
        metering=profile.metering if profile else "",
        target_subcool_f=float(profile.target_subcool_f)
        if profile and profile.target_subcool_f is not None
        else None,
        barometric_psia=baro,
    )


@transaction.atomic
def work_order_analyze(*, work_order: WorkOrder, phase: str = Phase.TEST_IN) -> list[Finding]:
    """Replace the findings of one phase with a fresh run of the rules. An override the
    technician made on a rule carries over to that rule's new finding (and stays in the log)."""
    if phase not in Phase.values:
        raise DomainError("phase must be 'in' or 'out'.", field="phase")
    WorkOrder.objects.select_for_update().filter(pk=work_order.pk).first()  # one analysis at a time
    baro = _barometric_psia(work_order)
    previous = {
        (f.equipment_id, f.rule_id): f
        for f in Finding.objects.filter(work_order=work_order, phase=phase).exclude(
            override_severity=""
        )
    }
    Finding.objects.filter(work_order=work_order, phase=phase).delete()
    created = []
    for equipment, readings in _groups(work_order, phase).items():
        _computed, results = rules.evaluate(_inputs(equipment, readings, baro))
        for res in results:
            old = previous.get((equipment.pk if equipment else None, res.rule_id))
            finding = Finding.objects.create(
                business_id=work_order.business_id,
                work_order=work_order,
                equipment=equipment,
                phase=phase,
                rule_id=res.rule_id,
                rule_version=res.rule_version,
                severity=res.severity,
                message=res.message,
                recommendation=res.recommendation,
                measured=res.measured,
                override_severity=old.override_severity if old else "",
                override_reason=old.override_reason if old else "",
            )
            finding.readings.set(res.reading_ids)
            created.append(finding)
    return created


@transaction.atomic
def finding_override(*, finding: Finding, severity: str, reason: str, by: User) -> Finding:
    """A technician disagrees with a rule. The reason is required and every change is logged."""
    if severity not in Severity.values:
        raise DomainError(
            f"severity must be one of {', '.join(Severity.values)}.", field="severity"
        )
    if not reason.strip():
        raise DomainError("Say why you override this finding.", field="reason")
    finding = Finding.objects.select_for_update().get(pk=finding.pk)
    FindingOverride.objects.create(
        business_id=finding.business_id,
        finding=finding,
        work_order_id=finding.work_order_id,
        rule_id=finding.rule_id,
        rule_version=finding.rule_version,
        from_severity=finding.effective_severity,
        to_severity=severity,
        reason=reason.strip(),
        by=by,
    )
    finding.override_severity = "" if severity == finding.severity else severity
    finding.override_reason = reason.strip() if finding.override_severity else ""
    finding.save(update_fields=["override_severity", "override_reason", "updated_at"])
    return finding


TREND_KEYS = ("superheat_f", "subcooling_f", "temperature_split_f", "air_free_co_ppm")


def equipment_trend(*, equipment: Equipment) -> list[dict]:
    """One point per visit and phase, oldest first, from the stored findings' computed values."""
    points: dict[tuple[int, str], dict] = {}
    findings = (
        Finding.objects.filter(equipment=equipment)
        .select_related("work_order")
        .prefetch_related("readings")
        .order_by("work_order_id", "phase")
    )
    for f in findings:
        key = (f.work_order_id, f.phase)
        point = points.setdefault(
            key,
            {
                "work_order": f.work_order.number,
                "work_order_id": f.work_order_id,
                "phase": f.phase,
                "taken_at": None,
            },
        )
        for k in TREND_KEYS:
            if k in f.measured:
                point[k] = f.measured[k]
        for r in f.readings.all():
            if point["taken_at"] is None or r.taken_at > point["taken_at"]:
                point["taken_at"] = r.taken_at
    out = [p for p in points.values() if any(k in p for k in TREND_KEYS)]
    out.sort(key=lambda p: (p["taken_at"] or timezone.now(), p["phase"]))
    return out
