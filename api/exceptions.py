"""One error body for every refusal: `{"error": {"code": …, "message": …, "field": …}}`.

DomainError keeps its code and status (400/403/404/409); DRF's validation errors are 400 "invalid"
with the first offending field; authentication 401, permission 403, unknown 404, throttled 429.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from core.errors import DomainError

CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "forbidden",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
    exceptions.ParseError: "invalid",
    exceptions.ValidationError: "invalid",
}


def error_body(code: str, message: str, field: str | None = None) -> dict:
    return {"error": {"code": code, "message": message, "field": field}}


def _first_error(detail, field: str | None = None) -> tuple[str | None, str]:
    """The first (field, message) of a nested DRF error detail."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = None if key in ("non_field_errors", "__all__") else (f"{field}.{key}" if field else str(key))
            return _first_error(value, name if name is not None else field)
        return field, "Invalid input."
    if isinstance(detail, list):
        for index, value in enumerate(detail):
            if isinstance(value, dict | list):
                return _first_error(value, f"{field}.{index}" if field else field)
            return field, str(value)
        return field, "Invalid input."
    return field, str(detail)


def exception_handler(exc, context):
    if isinstance(exc, DomainError):
        return Response(error_body(exc.code, exc.message, exc.field), status=exc.status)
    if isinstance(exc, DataError):
        # A value the database cannot store (out of range, invalid text): the input's fault, not a fault.
        return Response(error_body("invalid", "A value is out of range or not valid text."), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=exc.messages)
    if not isinstance(exc, exceptions.APIException):
        return None  # a real fault: Django's 500 handler logs it
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    code = next((c for cls, c in CODES.items() if isinstance(exc, cls)), "error")
    if isinstance(exc, exceptions.ValidationError):
        field, message = _first_error(exc.detail)
        return Response(error_body("invalid", message, field), status=status.HTTP_400_BAD_REQUEST, headers=headers)
    return Response(error_body(code, str(exc.detail)), status=exc.status_code, headers=headers)
