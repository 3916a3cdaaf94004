"""One JSON error shape for the API: {"detail": "...", "code": "...", "errors": {field: [...]}}."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler

from apps.core.errors import DomainError


def api_exception_handler(exc, context):
    if isinstance(exc, DomainError):
        body = {"detail": exc.message, "code": exc.code}
        if exc.field:
            body["errors"] = {exc.field: [exc.message]}
        return Response(body, status=exc.http_status)
    if isinstance(exc, DjangoValidationError):
        errors = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return Response(
            {
                "detail": "; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()),
                "code": "invalid",
                "errors": errors,
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(data, dict) and "detail" in data:
        detail = data["detail"]
        code = getattr(detail, "code", None) or "error"
        response.data = {"detail": " ".join(_messages(detail)) or "Error.", "code": code}
    else:
        # Field validation errors: keep them per field and add a readable summary. Nested
        # serializers and lists of objects give dicts inside lists: flatten them to words, never
        # to str(dict), which prints ErrorDetail(string=..., code=...) reprs.
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        summary = "; ".join(_messages(errors))
        response.data = {
            "detail": summary or "Invalid input.",
            "code": "invalid",
            "errors": _plain(errors),
        }
    return response


def _messages(value, prefix: str = "") -> list[str]:
    """Every message in a DRF error structure, with its path ("readings[1].unit: ...")."""
    if isinstance(value, dict):
        return [m for key, inner in value.items() for m in _messages(inner, _path(prefix, key))]
    if isinstance(value, list | tuple):
        nested = any(isinstance(v, dict | list | tuple) for v in value)
        if nested:
            return [
                m
                for index, inner in enumerate(value)
                for m in _messages(inner, f"{prefix}[{index}]")
            ]
        words = " ".join(str(v) for v in value)
        return [f"{prefix}: {words}" if prefix else words] if words else []
    return [f"{prefix}: {value}" if prefix else str(value)]


def _path(prefix: str, key) -> str:
    if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
        return f"{prefix}[{key}]"  # an item of a list (DRF keys list errors by index)
    if key == api_settings.NON_FIELD_ERRORS_KEY and prefix:
        return prefix  # "readings: Expected a list", not "readings.non_field_errors: ..."
    return f"{prefix}.{key}" if prefix else str(key)


def _plain(value):
    """The same structure with plain strings (ErrorDetail is a str subclass with a code)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
