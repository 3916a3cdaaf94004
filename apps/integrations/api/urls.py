"""Mounted under /api/v1/ by one line in apps/core/api/urls.py."""

from django.urls import path

from apps.integrations.api import views

urlpatterns = [
    path(
        "integrations/connections",
        views.ConnectionSetupView.as_view(),
        name="integration-connection-setup",
    ),
]
