"""Routes of /api/v1/ (mounted in thorbis/urls.py)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from apps.core.api import views
from apps.core.api.root import ApiRootView

router = SimpleRouter()
router.register("work-orders", views.WorkOrderViewSet, basename="work-order")

urlpatterns = [
    path("", ApiRootView.as_view(), name="api-root"),
    path("auth/token/", views.TokenObtainView.as_view(), name="api-token-obtain"),
    path("me/", views.MeView.as_view(), name="api-me"),
    *router.urls,
    path("", include("apps.routing.api.urls")),
    path("", include("apps.integrations.api.urls")),
    path("", include("apps.accounting.api.urls")),
    path("", include("apps.payments.api.urls")),
    path("", include("apps.monitoring.api.urls")),
    path("", include("apps.diagnostics.api.urls")),
]
