"""Manager pages and service endpoints, mounted at the site root by thorbis/urls.py."""

from django.urls import path

from apps.monitoring.views import pages, service

app_name = "monitoring"

urlpatterns = [
    path("monitoring/", pages.dashboard, name="dashboard"),
    path("monitoring/report/", pages.report, name="report"),
    path("monitoring/report.pdf", pages.report_pdf_download, name="report-pdf"),
    path("healthz", service.healthz, name="healthz"),
    path("readyz", service.readyz, name="readyz"),
    path("metrics", service.metrics, name="metrics"),
]
