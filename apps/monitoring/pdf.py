"""The report as a PDF (WeasyPrint: HTML and inline SVG to PDF, no browser, no network)."""

from __future__ import annotations

from django.template.loader import render_to_string
from django.utils import timezone

from apps.monitoring.presenters import report_context
from apps.monitoring.selectors.report import HealthReport


def _no_fetch(url: str, *args, **kwargs):
    # The document is self-contained; refusing every URL keeps rendering offline and safe.
    raise ValueError(f"external resource refused: {url[:80]}")


def report_pdf(report: HealthReport) -> bytes:
    from weasyprint import HTML  # heavy import, only where a PDF is made

    with timezone.override(report.business.timezone):
        html = render_to_string("monitoring/report_pdf.html", report_context(report, pdf=True))
    return HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def report_filename(report: HealthReport) -> str:
    day = timezone.localtime(report.end, report.business.timezone).strftime("%Y-%m-%d")
    return f"integration-health-{report.business.slug}-{report.period}-{day}.pdf"
