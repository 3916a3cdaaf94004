"""The OpenAPI schema's view of errors: every operation documents the error answers it can give.

Views document their successes and their own refusals (402 from Stripe, 502, 503) with
extend_schema. The answers every view can give are added here once, each with the one error
shape (apps.core.api.errors), so a client generated from the schema handles them and the schema
never says less than the API answers:

- 401 without a valid token, 403 for an account without a business or a role that may not;
- 404 when the path names an object (missing and another business's answer alike), or a list
  is paged past its end;
- 400 when the operation reads input (a body, or query parameters that are validated);
- 429 when the view is throttled.

It also documents "" for choice fields whose model column may be blank (an equipment's unknown
refrigerant), which DRF's read-only fields otherwise leave out of the enum.
"""

from __future__ import annotations

import copy

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import AllowAny

ERROR_DESCRIPTIONS = {
    "400": "Invalid input: `detail` says what, `errors` names the fields.",
    "401": "No valid token: send `Authorization: Token <token>`.",
    "403": "Not allowed: the account has no business, or its role may not do this.",
    "404": "Not found in your business (another business's id answers the same way).",
    "429": "Too many requests: wait a minute and try again.",
}


def _model_field_allows_blank(field: serializers.Field) -> bool:
    """A ModelSerializer's read-only choice field loses `allow_blank` (DRF drops it for read-only
    fields), though the model stores "" (blank=True): ask the model field."""
    parent = getattr(field, "parent", None)
    model = getattr(getattr(parent, "Meta", None), "model", None)
    if model is None or not field.source or "." in field.source or field.source == "*":
        return False
    try:
        return bool(model._meta.get_field(field.source).blank)
    except FieldDoesNotExist:
        return False


class ApiAutoSchema(AutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if (
            isinstance(field, serializers.ChoiceField)
            and not field.allow_blank
            and _model_field_allows_blank(field)
        ):
            field = copy.copy(field)
            field.allow_blank = True  # documented as the enum or "" (BlankEnum)
        return super()._map_serializer_field(field, direction, bypass_extensions)

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        from apps.core.api.serializers import ApiErrorSerializer  # serializers import models

        for code in self._error_codes():
            if code not in responses:
                answer = OpenApiResponse(ApiErrorSerializer, description=ERROR_DESCRIPTIONS[code])
                responses[code] = self._get_response_for_code(answer, code, None, direction)
        return dict(sorted(responses.items()))

    def _error_codes(self) -> list[str]:
        view = self.view
        codes = []
        permissions = view.get_permissions()
        if not all(isinstance(p, AllowAny) for p in permissions):
            codes += ["401", "403"] if view.get_authenticators() else ["403"]
        if "{" in self.path or (self._is_list_view() and self._get_paginator()):
            codes.append("404")  # an object by id, or a page past the end
        if self._reads_input():
            codes.append("400")
        if view.get_throttles():
            codes.append("429")
        return codes

    def _reads_input(self) -> bool:
        if self.method in ("POST", "PUT", "PATCH"):
            return True
        return any(p.get("in") == "query" for p in self._get_parameters())
