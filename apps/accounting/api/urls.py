"""Mounted under /api/v1/ by one line in apps/core/api/urls.py."""

from django.urls import path

from apps.accounting.api import views

urlpatterns = [
    *(
        route
        for provider in ("quickbooks", "xero")
        for route in (
            path(
                f"integrations/{provider}/auth",
                views.OAuthStartView.as_view(provider=provider),
                name=f"accounting-{provider}-auth",
            ),
            path(
                f"integrations/{provider}/callback",
                views.OAuthCallbackView.as_view(provider=provider),
                name=f"accounting-{provider}-callback",
            ),
        )
    ),
    path("integrations/<int:pk>/sync", views.SyncView.as_view(), name="integration-sync"),
    path(
        "integrations/<int:pk>/sync-status",
        views.SyncStatusView.as_view(),
        name="integration-sync-status",
    ),
    path("integrations/<int:pk>/logs", views.SyncLogListView.as_view(), name="integration-logs"),
]
