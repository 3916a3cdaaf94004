"""The tenant base: the business filter cannot be dropped, forgotten or bypassed."""

from types import SimpleNamespace

import pytest
from django.utils import timezone
from rest_framework import mixins
from rest_framework.permissions import AllowAny
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.viewsets import GenericViewSet

from apps.core.api.mixins import BusinessScopedViewSetMixin
from apps.core.api.serializers import WorkOrderListSerializer
from apps.core.models import WorkOrder
from tests import factories as f
from tests.api.helpers import missing_id, work_order_of


class CarelessViewSet(BusinessScopedViewSetMixin, mixins.ListModelMixin, GenericViewSet):
    """A subclass that tries to widen its queryset to every business."""

    queryset = WorkOrder.objects.all()
    serializer_class = WorkOrderListSerializer
    filter_backends = []

    def safely_get_queryset(self, queryset):
        return WorkOrder.objects.all()


def test_overriding_get_queryset_is_refused_at_class_creation():
    with pytest.raises(TypeError, match="safely_get_queryset"):

        class Sneaky(BusinessScopedViewSetMixin, GenericViewSet):
            queryset = WorkOrder.objects.all()

            def get_queryset(self):
                return WorkOrder.objects.all()


def test_a_hook_returning_every_row_is_still_scoped(dispatcher, business, foreign_work_order):
    own = work_order_of(business)
    view = CarelessViewSet()
    view.request = SimpleNamespace(user=dispatcher)

    assert list(view.get_queryset()) == [own]


def test_the_careless_view_over_http_lists_only_own_rows(dispatcher, business, foreign_work_order):
    own = work_order_of(business)
    request = APIRequestFactory().get("/")
    force_authenticate(request, user=dispatcher)

    response = CarelessViewSet.as_view({"get": "list"})(request)

    assert [row["id"] for row in response.data["results"]] == [own.pk]


def test_without_a_business_the_base_refuses_even_if_permissions_are_relaxed(db):
    class Relaxed(CarelessViewSet):
        permission_classes = [AllowAny]

    platform_admin = f.UserFactory(business=None, is_superuser=True, is_staff=True)
    request = APIRequestFactory().get("/")
    force_authenticate(request, user=platform_admin)

    response = Relaxed.as_view({"get": "list"})(request)

    assert response.status_code == 403
    assert response.data["detail"] == "Your account is not linked to a business."


def test_the_business_time_zone_does_not_outlive_the_request(office_client, business):
    work_order = work_order_of(business)

    assert office_client.get(f"/api/v1/work-orders/{work_order.pk}/").status_code == 200
    assert timezone.get_current_timezone_name() == "UTC"
    assert office_client.get(f"/api/v1/work-orders/{missing_id()}/").status_code == 404
    assert timezone.get_current_timezone_name() == "UTC"
