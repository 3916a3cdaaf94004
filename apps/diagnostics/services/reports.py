"""The diagnostic report of a work order: HTML for the screen and e-mail, PDF via weasyprint."""

from __future__ import annotations

from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import mark_safe

from apps.core.models import User, WorkOrder
from apps.core.timezones import zone_of
from apps.diagnostics import rules
from apps.diagnostics.charts import line_chart_svg
from apps.diagnostics.models import DiagnosticReport, Finding, FindingOverride, Phase, Reading
from apps.diagnostics.models.findings import SEVERITY_RANK
from apps.diagnostics.services.analysis import equipment_trend

TREND_SERIES = [
    ("superheat_f", "Superheat", "°F"),
    ("subcooling_f", "Subcooling", "°F"),
    ("temperature_split_f", "Temperature split", "°F"),
    ("air_free_co_ppm", "Air-free CO", "ppm"),
]


def _trend_charts(equipment) -> list[str]:
    points = equipment_trend(equipment=equipment)
    if len(points) < 1:
        return []
    zone = zone_of(equipment.business)
    labels = [
        f"{timezone.localtime(p['taken_at'], zone):%Y-%m-%d} {'in' if p['phase'] == 'in' else 'out'}"
        if p["taken_at"]
        else p["work_order"]
        for p in points
    ]
    charts = []
    for key, title, unit in TREND_SERIES:
        svg = line_chart_svg(title, unit, labels, [p.get(key) for p in points])
        if svg:
            charts.append(mark_safe(svg))  # noqa: S308 - numbers and escaped labels only  # built from numbers and escaped labels only
    return charts


def report_context(work_order: WorkOrder) -> dict:
    readings = list(
        Reading.objects.filter(work_order=work_order)
        .select_related("instrument", "equipment")
        .order_by("phase", "taken_at", "pk")
    )
    findings = list(Finding.objects.filter(work_order=work_order).select_related("equipment"))
    phases = []
    for code, label in Phase.choices:
        fs = sorted(
            (f for f in findings if f.phase == code),
            key=lambda f: (-SEVERITY_RANK[f.effective_severity], f.rule_id),
        )
        phases.append(
            {
                "label": label,
                "readings": [r for r in readings if r.phase == code],
                "findings": fs,
                "worst": max(
                    (f.effective_severity for f in fs), key=SEVERITY_RANK.get, default=None
                ),
            }
        )
    computed_in = {k: v for f in findings if f.phase == "in" for k, v in f.measured.items()}
    computed_out = {k: v for f in findings if f.phase == "out" for k, v in f.measured.items()}
    deltas = [
        {
            "name": k.replace("_f", "").replace("_ppm", "").replace("_", " "),
            "before": computed_in.get(k),
            "after": computed_out.get(k),
        }
        for k in sorted(set(computed_in) | set(computed_out))
    ]
    equipment = list(work_order.equipment.all()) or sorted(
        {r.equipment for r in readings if r.equipment}, key=lambda e: e.pk
    )
    instruments = sorted({r.instrument for r in readings if r.instrument}, key=lambda i: i.pk)
    return {
        "wo": work_order,
        "generated_at": timezone.localtime(timezone.now(), work_order.business.timezone),
        "phases": phases,
        "deltas": deltas,
        "instruments": instruments,
        "equipment": [{"item": e, "charts": _trend_charts(e)} for e in equipment],
        "overrides": FindingOverride.objects.filter(work_order=work_order).select_related("by"),
        "rules_version": rules.rules_version(),
        "tz": work_order.business.timezone,
    }


def report_render_html(*, work_order: WorkOrder) -> str:
    # The report is read by the business and its customer: their zone, also when a worker
    # (whose zone is UTC) renders it.
    with timezone.override(zone_of(work_order.business)):
        return render_to_string("diagnostics/report.html", report_context(work_order))


def report_render_pdf(html: str) -> bytes:
    import weasyprint  # imported here: needs pango/cairo system libraries, only for PDFs

    return weasyprint.HTML(string=html).write_pdf()


@transaction.atomic
def report_generate(
    *, work_order: WorkOrder, by: User | None = None, with_pdf: bool = True
) -> DiagnosticReport:
    """Render and keep a report: the stored copy is what the customer received."""
    html = report_render_html(work_order=work_order)
    return DiagnosticReport.objects.create(
        business_id=work_order.business_id,
        work_order=work_order,
        rules_version=rules.rules_version(),
        html=html,
        pdf=report_render_pdf(html) if with_pdf else None,
        generated_by=by,
    )
