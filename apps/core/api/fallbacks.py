"""Answers for URLs under /api/ that no route matches (a non-integer id, a typo'd path).

Django's own 404 page is HTML; an API client must get the API's JSON error shape instead, built
by the same exception handler every API view uses. Everything else keeps Django's page.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.defaults import page_not_found
from rest_framework.exceptions import NotFound
from rest_framework.settings import api_settings

API_PREFIX = "/api/"


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if not request.path.startswith(API_PREFIX):
        return page_not_found(request, exception)
    response = api_settings.EXCEPTION_HANDLER(NotFound(), {"request": request, "view": None})
    return JsonResponse(response.data, status=response.status_code)
