"""Mounted under /api/v1/ by one line in apps/core/api/urls.py."""

from rest_framework.routers import SimpleRouter

from apps.diagnostics.api import views

router = SimpleRouter()
router.register("diagnostics/readings", views.ReadingViewSet, basename="diagnostics-reading")
router.register(
    "diagnostics/work-orders", views.WorkOrderDiagnosticsViewSet, basename="diagnostics-work-order"
)
router.register("diagnostics/findings", views.FindingViewSet, basename="diagnostics-finding")
router.register(
    "diagnostics/equipment", views.EquipmentTrendViewSet, basename="diagnostics-equipment"
)

urlpatterns = router.urls
