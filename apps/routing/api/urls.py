"""Routing endpoints, mounted under /api/v1/ by apps.core.api.urls. The trailing slash is
optional, so both /routes/today and /routes/today/ work (a redirect would lose a POST body)."""

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from . import views


class OptionalSlashRouter(SimpleRouter):
    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"  # regex routes: the slash may be there or not


router = OptionalSlashRouter()
router.register("routing/plans", views.RoutePlanViewSet, basename="route-plan")

urlpatterns = [
    re_path(r"^routes/today/?$", views.RoutesTodayView.as_view(), name="routes-today"),
    re_path(
        r"^technicians/me/location/?$",
        views.TechnicianLocationView.as_view(),
        name="technician-location",
    ),
    re_path(
        r"^routing/optimize/?$",
        views.RoutePlanViewSet.as_view({"post": "optimize"}),
        name="routing-optimize",
    ),
    *router.urls,
]
