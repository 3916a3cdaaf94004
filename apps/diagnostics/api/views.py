"""Diagnostics API: readings (batch upload, manual entry, file import), analysis, findings,
overrides, reports and trends. Technicians reach the work orders assigned to them; office staff
reach every work order of their business; nobody reaches another business (404, like missing)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.viewsets import GenericViewSet

from apps.core.api.mixins import BusinessScopedViewSetMixin
from apps.core.api.serializers import ApiErrorSerializer
from apps.core.errors import DomainError
from apps.core.models import Equipment, WorkOrder
from apps.core.tenancy import get_for_business_or_404, scoped
from apps.diagnostics.api import serializers as s
from apps.diagnostics.api.filters import ReadingFilter
from apps.diagnostics.models import CaptureMethod, DiagnosticReport, Finding, Reading
from apps.diagnostics.services.analysis import equipment_trend, finding_override, work_order_analyze
from apps.diagnostics.services.readings import ReadingInput, reading_batch_store, reading_import
from apps.diagnostics.services.report_email import report_email
from apps.diagnostics.services.reports import report_generate


def visible_work_orders(request, business) -> QuerySet[WorkOrder]:
    qs = scoped(WorkOrder.objects.all(), business=business)
    user = request.user
    if not (user.is_superuser or user.is_office_staff):
        qs = qs.filter(assigned_technician__user=user)
    return qs


def _equipment(business, pk: int | None) -> Equipment | None:
    return None if pk is None else get_for_business_or_404(Equipment, business=business, pk=pk)


@extend_schema(tags=["diagnostics"])
class ReadingViewSet(BusinessScopedViewSetMixin, mixins.ListModelMixin, GenericViewSet):
    """Readings of your business. POST a batch; re-sending a client_id returns the stored row."""

    queryset = Reading.objects.all()
    serializer_class = s.ReadingOut
    filterset_class = ReadingFilter

    def safely_get_queryset(self, queryset):
        work_orders = visible_work_orders(self.request, self.business)
        return (
            queryset.filter(work_order__in=work_orders)
            .select_related("instrument")
            .order_by("taken_at", "pk")
        )

    @extend_schema(
        request=s.BatchIn,
        responses={
            200: s.BatchOut,
            201: s.BatchOut,
            404: OpenApiResponse(
                ApiErrorSerializer,
                description="A work order or equipment id that is not one you can reach "
                "(another business's answers the same); nothing of the batch is stored.",
            ),
        },
    )
    def create(self, request: Request) -> Response:
        data = s.BatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        work_orders = visible_work_orders(request, self.business)
        cache: dict[int, WorkOrder] = {}
        items = []
        for row in data.validated_data["readings"]:
            wo_id = row["work_order"]
            if wo_id not in cache:
                cache[wo_id] = get_for_business_or_404(
                    work_orders, business=self.business, pk=wo_id
                )
            items.append(
                ReadingInput(
                    client_id=row["client_id"],
                    work_order=cache[wo_id],
                    quantity=row["quantity"],
                    value=row["value"],
                    unit=row["unit"],
                    taken_at=row["taken_at"],
                    capture_method=row["capture_method"],
                    phase=row["phase"],
                    equipment=_equipment(self.business, row.get("equipment")),
                    instrument_family=row["instrument_family"],
                    instrument_model=row["instrument_model"],
                    instrument_serial=row["instrument_serial"],
                )
            )
        stored = reading_batch_store(business=self.business, items=items, by=request.user)
        created = sum(1 for _, c in stored if c)
        body = {
            "created": created,
            "already_stored": len(stored) - created,
            "readings": s.ReadingOut([r for r, _ in stored], many=True).data,
        }
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


@extend_schema(tags=["diagnostics"])
class WorkOrderDiagnosticsViewSet(BusinessScopedViewSetMixin, GenericViewSet):
    queryset = WorkOrder.objects.all()
    serializer_class = s.ReadingOut
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def safely_get_queryset(self, queryset):
        return queryset.filter(pk__in=visible_work_orders(self.request, self.business))

    # GET lists the job's readings; POST stores one (201) or finds it stored already (200).
    @extend_schema(methods=["GET"], responses={200: s.ReadingOut(many=True)})
    @extend_schema(
        methods=["POST"], request=s.ManualIn, responses={200: s.ReadingOut, 201: s.ReadingOut}
    )
    # These actions answer plain lists (one job's rows): no pagination, and the schema says a list.
    @action(detail=True, methods=["get", "post"], pagination_class=None)
    def readings(self, request: Request, pk=None) -> Response:
        work_order = self.get_object()
        if request.method == "GET":
            qs = Reading.objects.filter(work_order=work_order).select_related("instrument")
            return Response(s.ReadingOut(qs.order_by("taken_at", "pk"), many=True).data)
        data = s.ManualIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        item = ReadingInput(
            client_id=v.get("client_id") or uuid.uuid4(),
            work_order=work_order,
            quantity=v["quantity"],
            value=v["value"],
            unit=v["unit"],
            taken_at=v.get("taken_at") or timezone.now(),
            capture_method=CaptureMethod.MANUAL,
            phase=v["phase"],
            equipment=_equipment(self.business, v.get("equipment")),
            instrument_serial=v["instrument_serial"],
        )
        [(reading, created)] = reading_batch_store(
            business=self.business, items=[item], by=request.user
        )
        return Response(s.ReadingOut(reading).data, status=201 if created else 200)

    @extend_schema(request=s.ImportIn, responses={201: s.BatchOut})
    @action(detail=True, methods=["post"], url_path="import")
    def import_file(self, request: Request, pk=None) -> Response:
        work_order = self.get_object()
        data = s.ImportIn(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > 5 * 1024 * 1024:
            raise DomainError("Files over 5 MB are refused.", field="file")
        parsed, stored = reading_import(
            business=self.business,
            work_order=work_order,
            filename=upload.name,
            content=upload.read(),
            phase=data.validated_data["phase"],
            equipment=_equipment(self.business, data.validated_data.get("equipment")),
            by=request.user,
        )
        created = sum(1 for _, c in stored if c)
        body = {
            "format": parsed.fmt,
            "created": created,
            "already_stored": len(stored) - created,
            "skipped": parsed.skipped,
            "readings": s.ReadingOut([r for r, _ in stored], many=True).data,
        }
        return Response(body, status=201 if created else 200)

    @extend_schema(request=s.AnalyzeIn, responses={200: s.FindingOut(many=True)})
    @action(detail=True, methods=["post"], pagination_class=None)
    def analyze(self, request: Request, pk=None) -> Response:
        work_order = self.get_object()
        data = s.AnalyzeIn(data=request.data)
        data.is_valid(raise_exception=True)
        findings = work_order_analyze(work_order=work_order, phase=data.validated_data["phase"])
        return Response(s.FindingOut(findings, many=True).data)

    @extend_schema(responses={200: s.FindingOut(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)
    def findings(self, request: Request, pk=None) -> Response:
        work_order = self.get_object()
        qs = Finding.objects.filter(work_order=work_order).prefetch_related("readings")
        return Response(s.FindingOut(qs, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("fmt", str, OpenApiParameter.PATH, enum=["html", "pdf"])],
        responses={
            (200, "text/html"): OpenApiResponse(OpenApiTypes.STR, description="The report page."),
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The report as PDF."
            ),
        },
    )
    @action(detail=True, methods=["get"], url_path=r"report\.(?P<fmt>html|pdf)")
    def report(self, request: Request, pk=None, fmt="html") -> HttpResponse:
        work_order = self.get_object()
        report = report_generate(work_order=work_order, by=request.user, with_pdf=fmt == "pdf")
        if fmt == "pdf":
            response = HttpResponse(bytes(report.pdf), content_type="application/pdf")
            response["Content-Disposition"] = (
                f'inline; filename="diagnostics-{work_order.number}.pdf"'
            )
            return response
        return HttpResponse(report.html, content_type="text/html; charset=utf-8")

    @extend_schema(
        request=s.ReportEmailIn, responses={200: s.ReportEmailOut, 201: s.ReportEmailOut}
    )
    @action(detail=True, methods=["post"], url_path="report/email")
    def email_report(self, request: Request, pk=None) -> Response:
        """Email the report PDF to the customer (or `to`) through comms; 400 when refused."""
        work_order = self.get_object()
        data = s.ReportEmailIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        report = None
        if v["report"] is not None:
            report = get_for_business_or_404(
                DiagnosticReport.objects.filter(work_order=work_order),
                business=self.business,
                pk=v["report"],
            )
        sent = report_email(
            work_order=work_order,
            by=request.user,
            to=v.get("to", ""),
            report=report,
            client_id=v["client_id"],
        )
        if sent.log.status == "failed":
            body = {"detail": f"The email was not sent: {sent.log.error_message}", "code": "failed"}
            return Response(body, status=status.HTTP_502_BAD_GATEWAY)
        code = status.HTTP_200_OK if sent.already_sent else status.HTTP_201_CREATED
        return Response(s.ReportEmailOut(sent).data, status=code)


@extend_schema(tags=["diagnostics"])
class FindingViewSet(BusinessScopedViewSetMixin, mixins.RetrieveModelMixin, GenericViewSet):
    queryset = Finding.objects.all()
    serializer_class = s.FindingOut

    def safely_get_queryset(self, queryset):
        return queryset.filter(work_order__in=visible_work_orders(self.request, self.business))

    @extend_schema(request=s.OverrideIn, responses={200: s.FindingOut})
    @action(detail=True, methods=["post"])
    def override(self, request: Request, pk=None) -> Response:
        finding = self.get_object()
        data = s.OverrideIn(data=request.data)
        data.is_valid(raise_exception=True)
        finding = finding_override(finding=finding, by=request.user, **data.validated_data)
        return Response(s.FindingOut(finding).data)


@extend_schema(tags=["diagnostics"])
class EquipmentTrendViewSet(BusinessScopedViewSetMixin, GenericViewSet):
    queryset = Equipment.objects.all()
    serializer_class = s.ReadingOut

    @extend_schema(responses={200: s.TrendOut})
    @action(detail=True, methods=["get"])
    def trend(self, request: Request, pk=None) -> Response:
        # The id comes from the row found, never from the URL: a non-number is the same 404.
        equipment = self.get_object()
        body = {"equipment": equipment.pk, "points": equipment_trend(equipment=equipment)}
        return Response(s.TrendOut(body).data)
