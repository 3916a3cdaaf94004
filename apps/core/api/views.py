"""Technician app API: thin views that validate, fetch through the tenant mixin, call a service."""

from __future__ import annotations

from django.db.models import F, Prefetch, QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView
from rest_framework.viewsets import GenericViewSet

from apps.core.api.filtering import BusinessFilterBackend
from apps.core.api.filters import WorkOrderFilter
from apps.core.api.mixins import BusinessContextMixin, BusinessScopedViewSetMixin
from apps.core.api.serializers import (
    ApiErrorSerializer,
    LineInput,
    LinePatchInput,
    LineSerializer,
    MeSerializer,
    TransitionInput,
    WorkOrderDetailSerializer,
    WorkOrderListSerializer,
)
from apps.core.api.sign_in import SignInTokenSerializer
from apps.core.models import Equipment, LineItem, Technician, WorkOrder, WorkOrderPart
from apps.core.services.work_order_lines import (
    work_order_line_add,
    work_order_line_remove,
    work_order_line_update,
)
from apps.core.services.work_orders import work_order_transition
from apps.core.tenancy import scoped

ERROR_400 = OpenApiResponse(ApiErrorSerializer, description="Refused or invalid input.")
ERROR_404 = OpenApiResponse(
    ApiErrorSerializer,
    description="No such work order in your business (another business's id looks the same).",
)
ERROR_429 = OpenApiResponse(
    ApiErrorSerializer, description="Too many attempts; try again after Retry-After seconds."
)
ERROR_403 = OpenApiResponse(ApiErrorSerializer, description="Not yours to change.")
ERROR_404_LINE = OpenApiResponse(
    ApiErrorSerializer,
    description="No such work order or line in your business (another business's looks the same).",
)
LINE_ID = OpenApiParameter("line_id", int, OpenApiParameter.PATH, description="The line's id.")


class TokenObtainThrottle(AnonRateThrottle):
    """Per client address (NUM_PROXIES decides whether X-Forwarded-For is read); the
    per-account lockout is in SignInTokenSerializer."""

    scope = "token_obtain"
    rate = "20/min"


@extend_schema(
    tags=["auth"],
    summary="Exchange username and password for an API token",
    responses={
        200: AuthTokenSerializer,
        400: ERROR_400,
        # The sign-in limits key on the client's address; a request with none is refused.
        403: OpenApiResponse(ApiErrorSerializer, description="The client's address is unknown."),
        429: ERROR_429,
    },
)
class TokenObtainView(ObtainAuthToken):
    """Send the token as `Authorization: Token <token>` on every later request."""

    # Signing in needs no prior credentials; a stale token header must not block it.
    authentication_classes = ()
    throttle_classes = (TokenObtainThrottle,)
    serializer_class = SignInTokenSerializer


class MeView(BusinessContextMixin, APIView):
    """Who is signed in: the app's starting point after obtaining a token."""

    @extend_schema(
        tags=["me"],
        summary="The signed-in user, their business and technician profile",
        responses=MeSerializer,
    )
    def get(self, request: Request) -> Response:
        technician = (
            scoped(Technician, business=self.business)
            .filter(user=request.user)
            .prefetch_related("skills")
            .first()
        )
        data = {"user": request.user, "business": self.business, "technician": technician}
        return Response(MeSerializer(data, context={"request": request}).data)


class WorkOrderPagination(PageNumberPagination):
    # The app may fetch a whole day in one page; the cap keeps one request cheap.
    page_size_query_param = "page_size"
    max_page_size = 200


@extend_schema_view(
    list=extend_schema(
        summary="Work orders: a technician's own, or all of the business for office staff",
        responses={200: WorkOrderListSerializer(many=True), 400: ERROR_400},
    ),
    retrieve=extend_schema(
        summary="One work order with everything needed on site",
        responses={200: WorkOrderDetailSerializer, 404: ERROR_404},
    ),
)
@extend_schema(tags=["work orders"])
class WorkOrderViewSet(
    BusinessScopedViewSetMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, GenericViewSet
):
    """Work orders of your business. Technicians see the orders assigned to them; office staff
    see all. Datetimes carry the business's UTC offset."""

    queryset = WorkOrder.objects.all()
    filter_backends = [BusinessFilterBackend]  # ordering lives in the FilterSet (validated)
    filterset_class = WorkOrderFilter
    pagination_class = WorkOrderPagination

    def safely_get_queryset(self, queryset: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
        user = self.request.user
        if not (user.is_superuser or user.is_office_staff):
            queryset = queryset.filter(assigned_technician__user=user)
        queryset = queryset.select_related(
            "customer", "location", "assigned_technician__user"
        ).order_by(F("arrival_window_start").asc(nulls_last=True), "number", "pk")
        if self.action == "retrieve":
            queryset = self._with_detail_relations(queryset)
        return queryset

    @staticmethod
    def _with_detail_relations(queryset: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
        # Everything WorkOrderDetailSerializer reads, in a fixed number of queries.
        return queryset.select_related("category").prefetch_related(
            "lines",
            "required_skills",
            Prefetch("part_requirements", queryset=WorkOrderPart.objects.select_related("part")),
            Prefetch("equipment", queryset=Equipment.objects.order_by("pk")),
            Prefetch("location__equipment", queryset=Equipment.objects.order_by("pk")),
        )

    def get_serializer_class(self):
        if self.action == "list":
            return WorkOrderListSerializer
        if self.action == "transition":
            return TransitionInput
        if self.action == "lines":
            return LineInput
        if self.action == "line":
            return LinePatchInput
        return WorkOrderDetailSerializer

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "business": self.business}

    def _detail(self, work_order: WorkOrder) -> dict:
        fresh = self._with_detail_relations(self.get_queryset()).get(pk=work_order.pk)
        return WorkOrderDetailSerializer(fresh, context=self.get_serializer_context()).data

    @extend_schema(
        summary="Move the work order to another status",
        description=(
            "Safe to retry: asking again for the status the work order was just moved to (a "
            "double tap, a retry after a lost answer) answers 200 with the current state and "
            "records nothing twice. A refusal lists only the moves you may make."
        ),
        request=TransitionInput,
        responses={200: WorkOrderDetailSerializer, 400: ERROR_400, 404: ERROR_404},
    )
    @action(detail=True, methods=["post"])
    def transition(self, request: Request, pk: str | None = None) -> Response:
        work_order = self.get_object()  # 404 before reading the body: ids reveal nothing
        payload = TransitionInput(data=request.data)
        payload.is_valid(raise_exception=True)
        work_order_transition(
            work_order=work_order,
            to_status=payload.validated_data["status"],
            by=request.user,
            note=payload.validated_data["note"],
            allow_repeat=True,
        )
        return Response(self._detail(work_order))

    @extend_schema(
        summary="Add a part, labour or fee line",
        request=LineInput,
        responses={201: LineSerializer, 400: ERROR_400, 404: ERROR_404},
    )
    @action(detail=True, methods=["post"])
    def lines(self, request: Request, pk: str | None = None) -> Response:
        work_order = self.get_object()
        payload = LineInput(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        line = work_order_line_add(
            work_order=work_order,
            kind=data["kind"],
            description=data["description"],
            quantity=data["quantity"],
            unit_price=data["unit_price"],
            part=data["part"],
            taxable=data["taxable"],
            by=request.user,
        )
        body = LineSerializer(
            line, context={**self.get_serializer_context(), "work_order": work_order}
        )
        return Response(body.data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["PATCH"],
        summary="Change a line added on site (description, quantity, price, taxable)",
        description=(
            "While the work order is open and the line is not on an invoice. Office staff may "
            "change any line; a technician only lines they added on a job assigned to them. "
            "Quantity and amount are held to the business's ceilings."
        ),
        parameters=[LINE_ID],
        request=LinePatchInput,
        responses={200: LineSerializer, 400: ERROR_400, 403: ERROR_403, 404: ERROR_404_LINE},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Remove a line added on site",
        description="The same rule as changing it.",
        parameters=[LINE_ID],
        request=None,
        responses={204: None, 400: ERROR_400, 403: ERROR_403, 404: ERROR_404_LINE},
    )
    @action(detail=True, methods=["patch", "delete"], url_path=r"lines/(?P<line_id>-?[0-9]+)")
    def line(self, request: Request, pk: str | None = None, line_id: str | None = None):
        work_order = self.get_object()
        # Looked up on this work order of this business only: another work order's or another
        # business's line id answers exactly like one that does not exist.
        line = LineItem.objects.filter(
            business=self.business, work_order=work_order, pk=_int_or_none(line_id)
        ).first()
        if line is None:
            raise NotFound("No such line on this work order.")
        if request.method == "DELETE":
            work_order_line_remove(line=line, by=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        payload = LinePatchInput(data=request.data)
        payload.is_valid(raise_exception=True)
        line = work_order_line_update(line=line, by=request.user, **payload.validated_data)
        body = LineSerializer(
            line, context={**self.get_serializer_context(), "work_order": work_order}
        )
        return Response(body.data)


def _int_or_none(value: str | None) -> int | None:
    # Beyond a 64-bit id no row can match, and the database must not be asked.
    number = int(value) if value and value.isdigit() else None
    return number if number is not None and number < 2**63 else None
