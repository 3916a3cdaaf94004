"""Connect (OAuth), sync on demand, sync status and logs. Office staff of the business only."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.db.models import Prefetch
from django.http import HttpResponseRedirect
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounting.api.serializers import (
    ConnectedSerializer,
    SyncLogSerializer,
    SyncQueuedSerializer,
    SyncRequestInput,
    SyncStatusSerializer,
)
from apps.accounting.models import AccountingWrite, SyncCursor
from apps.accounting.services.oauth import (
    oauth_authorization_url,
    oauth_connect_complete,
    oauth_failure_words,
    oauth_state_consume,
)
from apps.core.api.mixins import BusinessContextMixin, BusinessScopedViewSetMixin
from apps.core.api.permissions import IsBusinessMember
from apps.core.api.serializers import ApiErrorSerializer
from apps.core.errors import DomainError
from apps.core.tenancy import get_for_business_or_404
from apps.integrations.errors import NotConfigured, ProviderError
from apps.integrations.models import IntegrationConnection, SyncLog, SyncRecordError
from apps.integrations.providers import provider_class_for
from apps.integrations.services import sync_request


class IsOfficeStaff(BasePermission):
    message = "Only office staff (dispatchers, managers, administrators) may do this."

    def has_permission(self, request, view) -> bool:
        return bool(getattr(request.user, "is_office_staff", False))


OFFICE = (IsBusinessMember, IsOfficeStaff)
ERROR = OpenApiResponse(ApiErrorSerializer, description="Refused or invalid input.")
NOT_FOUND = OpenApiResponse(ApiErrorSerializer, description="No such connection in your business.")


def callback_url(provider: str) -> str:
    """Registered with the vendor as the redirect URI; must match it exactly."""
    return settings.PUBLIC_BASE_URL + reverse(f"accounting-{provider}-callback")


VENDOR_FAILED = OpenApiResponse(
    ApiErrorSerializer,
    description="The vendor's sign-in service failed or was unreachable (JSON clients; a browser "
    "is sent back to the connection's page with the message).",
)


def _wants_json(request: Request) -> bool:
    return (
        "json" in request.headers.get("Accept", "") or request.query_params.get("format") == "json"
    )


class _ConnectFlow(BusinessContextMixin, APIView):
    """Every failure lands the dispatcher back on the connection's page (or the connections list
    when the connection is unknown) with a plain message; a JSON client gets it as an error
    body. Never a 500 page for a vendor that is down or answers nonsense."""

    permission_classes = OFFICE
    provider = ""

    def _land(self, request: Request, connection, message: str, *, ok: bool = False):
        if ok:
            messages.success(request._request, message)
        else:
            messages.error(request._request, message)
        if connection is None:
            return HttpResponseRedirect(reverse("admin:accounting_accountingconnection_changelist"))
        return HttpResponseRedirect(
            reverse("admin:accounting_accountingconnection_change", args=[connection.pk])
        )

    def _failed(self, request: Request, connection, exc: Exception):
        if isinstance(exc, ProviderError):
            message = oauth_failure_words(
                connection=connection, error=exc, finishing=self.finishing
            )
            code = "not_configured" if isinstance(exc, NotConfigured) else "vendor_failed"
            status_code = 400 if isinstance(exc, NotConfigured) else 502
        else:  # DomainError: our own refusal (state, company, missing code)
            message, code, status_code = exc.message, exc.code, 400
        if _wants_json(request):
            return Response({"detail": message, "code": code}, status=status_code)
        return self._land(request, connection, message)

    finishing = False


class OAuthStartView(_ConnectFlow):
    @extend_schema(
        tags=["integrations"],
        summary="Start connecting QuickBooks or Xero (redirects to the vendor's sign-in)",
        parameters=[OpenApiParameter("connection", int, required=True)],
        responses={
            302: OpenApiResponse(
                description="To the vendor's consent page; on a failure, back to the connection."
            ),
            400: ERROR,
            404: NOT_FOUND,
            502: VENDOR_FAILED,
        },
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("connection", "")
        if not (raw.isascii() and raw.isdigit()):  # "²".isdigit() is True, int("²") fails
            raise DomainError(
                "Give the connection to connect: ?connection=<id>.", field="connection"
            )
        connection = get_for_business_or_404(
            IntegrationConnection, business=self.business, pk=int(raw)
        )
        if connection.provider != self.provider:
            raise DomainError(f"Connection {connection.pk} is not a {self.provider} connection.")
        try:
            url = oauth_authorization_url(
                connection=connection, user=request.user, redirect_uri=callback_url(self.provider)
            )
        except (ProviderError, DomainError) as exc:
            return self._failed(request, connection, exc)
        return HttpResponseRedirect(url)


class OAuthCallbackView(_ConnectFlow):
    finishing = True

    @extend_schema(
        tags=["integrations"],
        summary="The vendor's redirect after consent: checks state, stores the tokens encrypted",
        parameters=[
            OpenApiParameter("code", str),
            OpenApiParameter("state", str, required=True),
            OpenApiParameter("realmId", str),
            OpenApiParameter("error", str),
        ],
        responses={
            200: ConnectedSerializer,
            302: OpenApiResponse(description="Back to the connection, with what happened."),
            400: ERROR,
            502: VENDOR_FAILED,
        },
    )
    def get(self, request: Request) -> Response:
        params = {k: v for k, v in request.query_params.items()}
        try:
            connection = oauth_state_consume(
                state=params.get("state", ""), user=request.user, provider_key=self.provider
            )
        except DomainError as exc:
            return self._failed(request, None, exc)
        vendor = connection.get_provider_display()
        if params.get("error"):
            reason = (params.get("error_description") or params["error"])[:200]
            return self._failed(
                request,
                connection,
                DomainError(
                    f"Connecting was cancelled at {vendor} ({reason}). Nothing was changed: "
                    f"press “Connect to {vendor}” again when ready.",
                    code="cancelled",
                ),
            )
        if not params.get("code"):
            return self._failed(
                request,
                connection,
                DomainError(
                    f"{vendor} sent no authorization code. Press “Connect to {vendor}” again.",
                    field="code",
                ),
            )
        try:
            connection = oauth_connect_complete(
                connection=connection,
                code=params["code"],
                redirect_uri=callback_url(self.provider),
                params=params,
            )
        except (ProviderError, DomainError) as exc:
            return self._failed(request, connection, exc)
        if _wants_json(request):
            return Response(
                ConnectedSerializer(
                    {
                        "connection": connection.pk,
                        "status": connection.status,
                        "company_id": connection.external_account_id,
                    }
                ).data
            )
        return self._land(request, connection, f"{connection} is connected.", ok=True)


class SyncView(BusinessContextMixin, APIView):
    permission_classes = OFFICE

    @extend_schema(
        tags=["integrations"],
        summary="Queue a sync now",
        request=SyncRequestInput,
        responses={202: SyncQueuedSerializer, 400: ERROR, 404: NOT_FOUND},
    )
    def post(self, request: Request, pk: int) -> Response:
        connection = get_for_business_or_404(IntegrationConnection, business=self.business, pk=pk)
        data = SyncRequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        logs = sync_request(
            connection=connection,
            resources=data.validated_data.get("resources"),
            trigger=SyncLog.Trigger.MANUAL,
        )
        return Response(
            {"sync_logs": SyncLogSerializer(logs, many=True).data}, status=status.HTTP_202_ACCEPTED
        )


class SyncStatusView(BusinessContextMixin, APIView):
    permission_classes = OFFICE

    @extend_schema(
        tags=["integrations"],
        summary="Per resource: last run, last success, cursor, outbox",
        responses={200: SyncStatusSerializer, 404: NOT_FOUND},
    )
    def get(self, request: Request, pk: int) -> Response:
        connection = get_for_business_or_404(IntegrationConnection, business=self.business, pk=pk)
        cls = provider_class_for(connection.provider)
        resources = dict(cls.resources) if cls else {}
        logs = SyncLog.objects.filter(connection=connection)
        cursors = dict(
            SyncCursor.objects.filter(connection=connection).values_list("resource", "position")
        )
        rows = []
        for resource, direction in resources.items():
            mine = logs.filter(sync_type=resource)
            last = mine.prefetch_related("record_errors").order_by("-queued_at", "-pk").first()
            success = (
                mine.filter(status__in=(SyncLog.Status.SUCCEEDED, SyncLog.Status.PARTIAL))
                .order_by("-completed_at")
                .values_list("completed_at", flat=True)
                .first()
            )
            rows.append(
                {
                    "resource": resource,
                    "direction": direction,
                    "waiting": mine.filter(
                        status__in=(SyncLog.Status.QUEUED, SyncLog.Status.RUNNING)
                    ).exists(),
                    "last_run": last,
                    "last_success_at": success,
                    "cursor": cursors.get(resource),
                }
            )
        writes = AccountingWrite.objects.filter(connection=connection)
        body = {
            "connection": {
                "id": connection.pk,
                "name": connection.name,
                "provider": connection.provider,
                "status": connection.status,
                "company_id": connection.external_account_id,
                "last_sync_at": connection.last_sync_at,
                "last_error": connection.last_error,
            },
            "resources": rows,
            "outbox": {
                "pending": writes.filter(status=AccountingWrite.Status.PENDING).count(),
                "in_doubt": writes.filter(status=AccountingWrite.Status.SENDING).count(),
                "failed": writes.filter(status=AccountingWrite.Status.FAILED).count(),
            },
            "open_errors": SyncRecordError.objects.filter(
                sync_log__connection=connection, status=SyncRecordError.Status.OPEN
            ).count(),
        }
        return Response(SyncStatusSerializer(body).data)


class SyncLogListView(BusinessScopedViewSetMixin, generics.ListAPIView):
    permission_classes = OFFICE
    serializer_class = SyncLogSerializer
    queryset = SyncLog.objects.all()
    filter_backends = ()

    @extend_schema(
        tags=["integrations"],
        summary="Sync runs of the connection, newest first, "
        "with the records that failed in words a bookkeeper understands",
        parameters=[OpenApiParameter("resource", str), OpenApiParameter("status", str)],
        responses={200: SyncLogSerializer(many=True), 404: NOT_FOUND},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def safely_get_queryset(self, queryset):
        connection = get_for_business_or_404(
            IntegrationConnection, business=self.business, pk=self.kwargs["pk"]
        )
        queryset = queryset.filter(connection=connection).prefetch_related(
            Prefetch("record_errors", queryset=SyncRecordError.objects.order_by("pk"))
        )
        for name, field in (("resource", "sync_type"), ("status", "status")):
            if value := self.request.query_params.get(name):
                queryset = queryset.filter(**{field: value})
        return queryset.order_by("-queued_at", "-pk")
