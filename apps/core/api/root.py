"""GET /api/v1/: where everything is. Public: it lists addresses, never data."""

from __future__ import annotations

import re

from django.urls import URLPattern, URLResolver, get_resolver, reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

API_PREFIX = "/api/v1/"
_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


def _readable(pattern: str) -> str:
    """A URL pattern as a person writes it: work-orders/{pk}/lines/{line_id}/."""
    text = _GROUP.sub(r"{\1}", pattern)
    text = _CONVERTER.sub(r"{\1}", text)
    return text.replace("/?", "/").lstrip("^").rstrip("$").replace("\\.", ".")


def _methods(callback) -> list[str]:
    actions = getattr(callback, "actions", None)
    if actions:  # a viewset route: the methods it maps
        return sorted(m.upper() for m in actions if m not in ("options", "head"))
    view = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view is None:
        return []
    names = getattr(view, "http_method_names", [])
    return sorted(m.upper() for m in names if m not in ("options", "head") and hasattr(view, m))


def _walk(patterns, prefix: str = ""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name, _readable(prefix + str(entry.pattern)), _methods(entry.callback)


def api_entry_points() -> list[dict]:
    """Every named route under /api/v1/, in the order they are declared."""
    resolver = get_resolver("apps.core.api.urls")
    seen: set[str] = set()
    found = []
    for name, path, methods in _walk(resolver.url_patterns):
        if name == "api-root" or path in seen:
            continue
        seen.add(path)
        found.append({"name": name, "path": API_PREFIX + path, "methods": methods})
    return found


class ApiRootView(APIView):
    """The API's front door: documentation, how to authenticate, and every entry point."""

    authentication_classes = ()  # a stale or missing token must not hide the map
    permission_classes = (AllowAny,)

    @extend_schema(
        tags=["api"],
        summary="The API's entry points, documentation and how to sign in",
        responses=inline_serializer(
            "ApiRoot",
            {
                "name": serializers.CharField(),
                "version": serializers.CharField(),
                "authentication": serializers.CharField(),
                "documentation": serializers.DictField(child=serializers.CharField()),
                "endpoints": serializers.ListField(
                    child=inline_serializer(
                        "ApiEntryPoint",
                        {
                            "name": serializers.CharField(),
                            "path": serializers.CharField(),
                            "methods": serializers.ListField(child=serializers.CharField()),
                        },
                    )
                ),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        absolute = request.build_absolute_uri
        return Response(
            {
                "name": "Thorbis Integrations Hub API",
                "version": "v1",
                "authentication": (
                    "POST your username and password to "
                    f"{absolute(reverse('api-token-obtain'))} for a token, then send "
                    "'Authorization: Token <token>' with every request."
                ),
                "documentation": {
                    "swagger_ui": absolute(reverse("api-docs")),
                    "redoc": absolute(reverse("api-redoc")),
                    "openapi_schema": absolute(reverse("api-schema")),
                },
                "endpoints": api_entry_points(),
            }
        )
