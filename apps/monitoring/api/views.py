"""JSON for other tools and dashboards: the 24-hour health and the report over any period."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.mixins import BusinessContextMixin
from apps.core.api.permissions import IsBusinessMember
from apps.core.api.serializers import ApiErrorSerializer
from apps.monitoring.selectors.health import business_health
from apps.monitoring.selectors.report import health_report, report_as_dict


class IsOfficeStaff(BasePermission):
    message = "Integration health is for office staff (dispatchers, managers, administrators)."

    def has_permission(self, request, view) -> bool:
        return bool(getattr(request.user, "is_office_staff", False))


PERIOD = OpenApiParameter(
    "period",
    OpenApiTypes.STR,
    description="How far back: a number and h, d or w (24h, 7d, 4w). Default 7d, at most 366d.",
)
ERRORS = {
    400: OpenApiResponse(ApiErrorSerializer, description="The period is not understood."),
    403: OpenApiResponse(ApiErrorSerializer, description="Not office staff of a business."),
}


class HealthReportView(BusinessContextMixin, APIView):
    permission_classes = (IsBusinessMember, IsOfficeStaff)

    @extend_schema(
        tags=["monitoring"],
        summary="Integration health report over a period, with the trend against the one before",
        parameters=[PERIOD],
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def get(self, request: Request) -> Response:
        report = health_report(business=self.business, period=request.query_params.get("period"))
        return Response(report_as_dict(report))


class HealthView(BusinessContextMixin, APIView):
    permission_classes = (IsBusinessMember, IsOfficeStaff)

    @extend_schema(
        tags=["monitoring"],
        summary="Health of every connection and integration type over the last 24 hours",
        responses={200: OpenApiTypes.OBJECT, 403: ERRORS[403]},
    )
    def get(self, request: Request) -> Response:
        health = business_health(business=self.business)
        return Response(
            {
                "generated_at": health.generated_at,
                "window_start": health.window_start,
                "thresholds": {
                    "stale_after_minutes": int(health.thresholds.stale_after.total_seconds() // 60),
                    "degraded_errors": health.thresholds.degraded_errors,
                    "healthy_success_rate": str(health.thresholds.healthy_rate),
                },
                "connections": [h.as_dict() for h in health.connections],
                "integrations": [h.as_dict() for h in health.integrations],
            }
        )
