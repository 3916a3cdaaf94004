"""Routing API: a technician's stops for today, their position; dispatchers plan the day."""

from __future__ import annotations

import zoneinfo

from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from apps.core.api.mixins import BusinessContextMixin, BusinessScopedViewSetMixin
from apps.core.api.permissions import IsBusinessMember
from apps.core.api.serializers import ApiErrorSerializer
from apps.core.models import Technician
from apps.core.tenancy import get_for_business_or_404, scoped
from apps.routing.models import RoutePlan, RouteStop, RouteUnassigned, TechnicianRoute
from apps.routing.services.locations import technician_location_record
from apps.routing.services.plans import (
    ApplyNeedsConfirmation,
    route_plan_apply,
    route_plan_create,
    route_plan_discard,
)

from .serializers import (
    ApplyConfirmationSerializer,
    ApplyInput,
    JobChangeSerializer,
    LocationInput,
    OptimizeInput,
    PlanSerializer,
    StopSerializer,
    TodaySerializer,
    today_payload,
)

ERROR_400 = OpenApiResponse(ApiErrorSerializer, description="Refused or invalid input.")
ERROR_403 = OpenApiResponse(ApiErrorSerializer, description="Not allowed for your role.")
ERROR_404 = OpenApiResponse(ApiErrorSerializer, description="No such object in your business.")


class IsOfficeStaff(BasePermission):
    message = "Only dispatchers, managers and administrators can plan routes."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and (user.is_superuser or getattr(user, "is_office_staff", False)))


def _stops(queryset):
    return queryset.select_related(
        "work_order__customer", "work_order__location", "technician__user"
    ).order_by("sequence")


def _plan_queryset(queryset):
    stops = _stops(RouteStop.objects.all())
    return queryset.select_related("business").prefetch_related(
        Prefetch(
            "routes",
            queryset=TechnicianRoute.objects.select_related("technician__user").prefetch_related(
                Prefetch("stops", queryset=stops)
            ),
        ),
        Prefetch("unassigned", queryset=RouteUnassigned.objects.select_related("work_order")),
    )


class RoutesTodayView(BusinessContextMixin, APIView):
    """The signed-in technician's stops for today, in driving order, with live ETAs."""

    @extend_schema(
        tags=["routing"],
        summary="Today's ordered stops with ETAs and job details",
        parameters=[
            OpenApiParameter(
                "technician",
                int,
                description="Office staff only: whose route (a technician id of your business).",
            )
        ],
        responses={200: TodaySerializer, 403: ERROR_403, 404: ERROR_404},
    )
    def get(self, request: Request) -> Response:
        technician = self._technician(request)
        tz = zoneinfo.ZoneInfo(str(self.business.timezone))
        today = timezone.now().astimezone(tz).date()
        plan = RoutePlan.objects.filter(
            business=self.business, date=today, status=RoutePlan.Status.APPLIED
        ).first()
        stops = []
        if plan is not None:
            stops = StopSerializer(_stops(plan.stops.filter(technician=technician)), many=True).data
        return Response(today_payload(date=today, plan=plan, technician=technician, stops=stops))

    def _technician(self, request: Request) -> Technician:
        wanted = request.query_params.get("technician")
        user = request.user
        if wanted is not None:
            if not (user.is_superuser or user.is_office_staff):
                raise PermissionDenied("Technicians see their own route only.")
            return get_for_business_or_404(Technician, business=self.business, pk=wanted)
        technician = scoped(Technician, business=self.business).filter(user=user).first()
        if technician is None:
            raise NotFound("You have no technician profile; pass ?technician=<id>.")
        return technician


class TechnicianLocationView(BusinessContextMixin, APIView):
    """The technician app posts its position; the remaining stops get fresh ETAs."""

    @extend_schema(
        tags=["routing"],
        summary="Post my position; returns my remaining stops with recomputed ETAs",
        request=LocationInput,
        responses={201: TodaySerializer, 400: ERROR_400, 404: ERROR_404},
    )
    def post(self, request: Request) -> Response:
        technician = scoped(Technician, business=self.business).filter(user=request.user).first()
        if technician is None:
            raise NotFound("Only technicians post a position.")
        payload = LocationInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        update = technician_location_record(
            technician=technician,
            latitude=data["latitude"],
            longitude=data["longitude"],
            recorded_at=data.get("recorded_at"),
            accuracy_m=data.get("accuracy_m"),
        )
        tz = zoneinfo.ZoneInfo(str(self.business.timezone))
        stops = StopSerializer(update.stops, many=True).data
        body = today_payload(
            date=timezone.now().astimezone(tz).date(),
            plan=update.plan,
            technician=technician,
            stops=stops,
        )
        return Response(body, status=status.HTTP_201_CREATED)


class RoutePlanViewSet(BusinessScopedViewSetMixin, mixins.RetrieveModelMixin, GenericViewSet):
    """Dispatchers: optimise a day, look at the draft, apply or discard it."""

    queryset = RoutePlan.objects.all()
    serializer_class = PlanSerializer
    permission_classes = [IsBusinessMember, IsOfficeStaff]

    def safely_get_queryset(self, queryset):
        return _plan_queryset(queryset)

    def _fresh(self, plan: RoutePlan) -> dict:
        return PlanSerializer(self.get_queryset().get(pk=plan.pk)).data

    @extend_schema(
        tags=["routing"],
        summary="One plan with its routes, unassigned jobs, KPIs and (for drafts) the changes",
        responses={200: PlanSerializer, 403: ERROR_403, 404: ERROR_404},
    )
    def retrieve(self, request, *args, **kwargs):
        return super().retrieve(request, *args, **kwargs)

    @extend_schema(
        tags=["routing"],
        summary="Optimise a day: returns a draft plan and its KPIs",
        request=OptimizeInput,
        responses={201: PlanSerializer, 400: ERROR_400, 403: ERROR_403},
    )
    def optimize(self, request: Request) -> Response:
        payload = OptimizeInput(data=request.data)
        payload.is_valid(raise_exception=True)
        plan = route_plan_create(
            business=self.business,
            date=payload.validated_data["date"],
            by=request.user,
            time_limit=payload.validated_data.get("time_limit"),
            trigger=f"Optimised by {request.user.get_full_name() or request.user.username}",
        )
        return Response(self._fresh(plan), status=status.HTTP_201_CREATED)

    @extend_schema(
        tags=["routing"],
        summary="Apply a draft (or some technicians' routes): assign, set windows, schedule",
        description=(
            "The whole draft becomes the day's plan; with `technicians`, those routes are "
            "applied as a new plan for the day (the others stay as applied before) and the "
            "draft stays open. Jobs under way or dispatched never leave their technician. If "
            "applying would send jobs back to the unassigned queue, the answer is 409 with "
            "the list of changes and nothing changes; send `confirm: true` to apply."
        ),
        request=ApplyInput,
        responses={
            200: PlanSerializer,
            400: ERROR_400,
            403: ERROR_403,
            404: ERROR_404,
            409: OpenApiResponse(
                ApplyConfirmationSerializer,
                description="Applying unassigns jobs: confirm after reading the changes.",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def apply(self, request: Request, pk: str | None = None) -> Response:
        plan = self.get_object()
        payload = ApplyInput(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            applied = route_plan_apply(
                plan=plan,
                by=request.user,
                technician_ids=payload.validated_data.get("technicians"),
                confirm=payload.validated_data["confirm"],
            )
        except ApplyNeedsConfirmation as exc:
            body = {
                "detail": exc.message,
                "code": exc.code,
                "changes": JobChangeSerializer(exc.changes, many=True).data,
            }
            return Response(body, status=status.HTTP_409_CONFLICT)
        return Response(self._fresh(applied))

    @extend_schema(
        tags=["routing"],
        summary="Discard a draft",
        request=None,
        responses={200: PlanSerializer, 400: ERROR_400, 403: ERROR_403, 404: ERROR_404},
    )
    @action(detail=True, methods=["post"])
    def discard(self, request: Request, pk: str | None = None) -> Response:
        plan = self.get_object()
        route_plan_discard(plan=plan, by=request.user)
        return Response(self._fresh(plan))
