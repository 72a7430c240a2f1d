"""The OpenAPI schema's view of every API operation (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"])."""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    detail = serializers.CharField()


RETRY_AFTER = {
    "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, with the answers DRF gives whatever the view: 401 without valid
    credentials, 404 for an object outside the caller's scope or a page past the end, 400 for a
    bad query parameter, 429 when throttled. A view's own @extend_schema answers come first."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        extra = {}
        if self.method == "GET" and self._is_list_view() and self.get_filter_backends():
            extra["400"] = OpenApiResponse(
                {
                    "type": "object",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    "description": "For each bad query parameter, what is wrong with it.",
                },
                description="A query parameter is invalid.",
            )
        if self.get_auth() and {} not in self.get_auth():
            extra["401"] = OpenApiResponse(ErrorDetailSerializer, description="No valid token or session.")
        if "{" in self.path or (self.method == "GET" and self._is_list_view()):
            extra["404"] = OpenApiResponse(
                ErrorDetailSerializer,
                description="Not found: no such object within your scope, or a page past the last.",
            )
        extra["429"] = OpenApiResponse(
            ErrorDetailSerializer, description="Too many requests: wait as many seconds as Retry-After says."
        )
        for code, response in extra.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(response, code, direction=direction)
        if "429" in responses:
            responses["429"].setdefault("headers", {}).update(RETRY_AFTER)
        return responses
