"""Template context for the report (HTML page, PDF and email share it)."""

from __future__ import annotations

from django.utils import timezone

from apps.monitoring.charts import activity_chart, rate_bar
from apps.monitoring.selectors.report import HealthReport

PERIOD_CHOICES = ("24h", "7d", "30d", "90d")
TREND_WORDS = {
    "improving": "Improving",
    "worsening": "Worsening",
    "steady": "Steady",
    "new": "New this period",
    "silent": "No activity this period",
    "none": "No activity",
}


def report_context(report: HealthReport, *, pdf: bool = False) -> dict:
    tz = report.business.timezone
    unit = "hour" if report.bucket == "hour" else "day"
    sections = []
    for item in report.integrations:
        sections.append(
            {
                "item": item,
                "trend": item.trend,
                "trend_word": TREND_WORDS[item.trend.direction],
                "rate_bar": rate_bar(item.success_rate),
                "chart": activity_chart(
                    item.series,
                    title=f"{item.provider_label} ({item.name}): operations per {unit}",
                ),
            }
        )
    return {
        "report": report,
        "business": report.business,
        "pdf": pdf,
        "period_choices": PERIOD_CHOICES,
        "sections": sections,
        "trend": report.trend,
        "trend_word": TREND_WORDS[report.trend.direction],
        "overall_chart": activity_chart(
            report.series, title=f"All integrations: operations per {unit}"
        ),
        "start_local": timezone.localtime(report.start, tz),
        "end_local": timezone.localtime(report.end, tz),
        "tz_name": str(tz),
    }
