"""The OpenAPI generator: every operation documents the error body for the statuses it can return."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    field = serializers.CharField(allow_null=True)


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_STATUSES = {
    "400": "Invalid input (`code` invalid), with the offending `field` when there is one.",
    "401": "Missing, unknown, expired or revoked token.",
    "403": "Authenticated, but not allowed to do this here.",
    "404": "No such object (or not visible to the caller).",
    "405": "Method not allowed.",
    "406": "Not acceptable.",
    "409": "Conflicts with the current state (already exists, already ended, no longer pending, …).",
    "415": "Unsupported media type.",
    "429": "Throttled: too many requests for this token; see Retry-After.",
}

__all__ = ["PimAutoSchema", "ErrorSerializer", "OpenApiResponse", "inline_serializer"]


class PimAutoSchema(AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code, description in ERROR_STATUSES.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(response=ErrorSerializer, description=description), code, direction=direction
                )
        return responses
