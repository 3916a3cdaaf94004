"""Routes under /api/v1/ (included by apps/core/api/urls.py)."""

from django.urls import path

from apps.monitoring.api import views

urlpatterns = [
    path("monitoring/report", views.HealthReportView.as_view(), name="api-monitoring-report"),
    path("monitoring/health", views.HealthView.as_view(), name="api-monitoring-health"),
]
