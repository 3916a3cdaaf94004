"""Setting up a connection over the API: the same service (and defaults) as the CLI and admin."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.mixins import BusinessContextMixin
from apps.core.api.permissions import IsBusinessMember
from apps.core.api.serializers import ApiErrorSerializer
from apps.core.models import Role
from apps.integrations.api.serializers import ConnectionSetupInput, ConnectionSetupSerializer
from apps.integrations.services import connection_schedules, connection_upsert


class IsConnectionManager(BasePermission):
    message = "Only managers and administrators may set up integrations."

    def has_permission(self, request, view) -> bool:
        return getattr(request.user, "role", None) in (Role.MANAGER, Role.ADMIN)


class ConnectionSetupView(BusinessContextMixin, APIView):
    permission_classes = (IsBusinessMember, IsConnectionManager)

    @extend_schema(
        tags=["integrations"],
        summary="Create or update a connection (by provider and name), as `integrations setup`",
        request=ConnectionSetupInput,
        responses={
            200: ConnectionSetupSerializer,
            201: ConnectionSetupSerializer,
            400: OpenApiResponse(ApiErrorSerializer, description="Refused key or value."),
            403: OpenApiResponse(ApiErrorSerializer, description="Not a manager."),
        },
    )
    def post(self, request: Request) -> Response:
        data = ConnectionSetupInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        connection, created = connection_upsert(
            business=self.business,
            provider=values["provider"],
            name=values["name"],
            credentials=values.get("credentials"),
            settings=values.get("settings"),
            environment=values.get("environment"),
            api_base_url=values.get("api_base_url"),
            external_account_id=values.get("external_account_id"),
        )
        body = {
            "id": connection.pk,
            "created": created,
            "provider": connection.provider,
            "name": connection.name,
            "status": connection.status,
            "environment": connection.environment,
            "api_base_url": connection.api_base_url,
            "external_account_id": connection.external_account_id,
            "credentials": connection.masked_credentials,
            "settings": connection.settings,
            "schedules": list(connection_schedules(connection).values_list("name", flat=True)),
        }
        return Response(
            ConnectionSetupSerializer(body).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
