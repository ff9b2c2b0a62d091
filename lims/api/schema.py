"""The OpenAPI schema of every operation, with the error answers it can give stated once.

drf-spectacular documents the success of an operation; the errors come from shared machinery
(authentication, permissions, lookups, validation, :mod:`lims.api.base` for ``If-Match``,
:mod:`lims.idempotency`, :mod:`lims.api.errors`), so they are added here from what the
operation declares, not per view:

=====  ===========================================================  ===================
code   when                                                         body
=====  ===========================================================  ===================
400    a query parameter, header or body is malformed               field → messages
401    no or a wrong token or session                               ``detail``
403    the role may not do this                                     ``detail``
404    the path names no row, or ``?page=`` is past the last page   ``detail``
409    a write raced another one (constraint), or the first         ``detail`` or
       attempt with this ``Idempotency-Key`` is still running       field → messages
412    ``If-Match`` names an older version than the current one     versions, ``ETag``
415    the body is not in a media type the operation reads          ``detail``
422    the ``Idempotency-Key`` was used for another request         ``detail``
428    ``If-Match`` is missing or not an ETag of this API           ``detail``
=====  ===========================================================  ===================

Lists that export (``?format=csv|xlsx``, :mod:`lims.api.exports`) also document the CSV and
XLSX media types of their 200 answer; a text query parameter states that it takes no NUL
character (Django's forms refuse it, and PostgreSQL could not compare it); and a read-only field that falls back to ``None``
(``CharField(source="acknowledged_by.username", read_only=True, default=None)``, the way a
nullable link is shown) is nullable.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular import openapi
from drf_spectacular.plumbing import ResolvedComponent, build_basic_type
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers

from lims.exports import XLSX_CONTENT_TYPE

JSON = "application/json"
NO_NUL = "^[^\\x00]*$"
EXPORT_MEDIA_TYPES = ("text/csv", XLSX_CONTENT_TYPE)

_DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
_FIELD_ERRORS = {
    "type": "object",
    "description": (
        "The messages by parameter or field name (``non_field_errors`` for the whole body), "
        "or ``detail`` alone when the request could not be read at all."
    ),
    "additionalProperties": {},
}
_VERSION_CONFLICT = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "expected_version": {"type": "integer"},
        "current_version": {"type": "integer"},
    },
    "required": ["detail", "expected_version", "current_version"],
}
#: name, body schema and description of each shared error answer, by status code.
ERROR_RESPONSES: dict[str, tuple[str, dict[str, Any], str]] = {
    "400": ("BadRequest", _FIELD_ERRORS, "A parameter, header or the body is malformed."),
    "401": ("Unauthenticated", _DETAIL, "No valid token or session."),
    "403": ("Forbidden", _DETAIL, "Your role may not do this."),
    "404": ("NotFound", _DETAIL, "No such row, or a page past the last."),
    "409": (
        "Conflict",
        _FIELD_ERRORS,
        "A parallel write got there first (nothing was saved), or the first attempt with this "
        "Idempotency-Key is still running: retry later.",
    ),
    "412": (
        "PreconditionFailed",
        _VERSION_CONFLICT,
        "The row changed since the version in If-Match; the ETag header holds the current one.",
    ),
    "415": ("UnsupportedMediaType", _DETAIL, "The body is not in a media type listed here."),
    "422": (
        "IdempotencyKeyReused",
        _DETAIL,
        "This Idempotency-Key was used for a different request.",
    ),
    "428": ("PreconditionRequired", _DETAIL, "If-Match is missing or not an ETag of this API."),
}
_WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def error_codes(operation: dict[str, Any], *, method: str, paginated: bool) -> set[str]:
    """The shared error answers ``operation`` can give, read off what it declares."""
    parameters = operation.get("parameters", [])
    locations = {parameter["in"] for parameter in parameters}
    headers = {parameter["name"].lower() for parameter in parameters if parameter["in"] == "header"}
    codes = set()
    if operation.get("security"):
        codes |= {"401", "403"}
    if "path" in locations or paginated:
        codes.add("404")
    if locations & {"query", "header"} or "requestBody" in operation:
        codes.add("400")
    if "requestBody" in operation:
        codes.add("415")
    if method in _WRITE_METHODS:
        codes.add("409")
    if "if-match" in headers:
        codes |= {"412", "428"}
    if "idempotency-key" in headers:
        codes |= {"409", "422"}
    return codes


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's AutoSchema plus the shared error answers and the export media types."""

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            schema = parameter.get("schema", {})
            if (
                parameter["in"] == "query"
                and schema.get("type") == "string"
                and not schema.keys() & {"enum", "format", "pattern"}
            ):
                # Django refuses the NUL character in any text it reads from a form or query.
                schema["pattern"] = NO_NUL
        responses = operation["responses"]
        paginated = self._is_list_view() and self._get_paginator() is not None
        for code in sorted(error_codes(operation, method=self.method, paginated=paginated)):
            responses.setdefault(code, self._error_response(code))
        if self._exports_list() and "200" in responses:
            binary = build_basic_type(OpenApiTypes.BINARY)
            for media_type in EXPORT_MEDIA_TYPES:
                responses["200"].setdefault("content", {})[media_type] = {"schema": binary}
        return operation

    def _get_serializer_field_meta(self, field: Any, direction: str) -> dict[str, Any]:
        meta: dict[str, Any] = super()._get_serializer_field_meta(field, direction)
        if isinstance(field, serializers.Field) and field.read_only and field.default is None:
            meta["nullable"] = True
        return meta

    def _exports_list(self) -> bool:
        from lims.api.exports import ExportListMixin

        if self.method != "GET":
            return False
        if isinstance(self.view, ExportListMixin):
            return getattr(self.view, "action", None) == "list"
        # a view that streams its own files (the results table) says so
        return bool(getattr(self.view, "exports_files", False))

    def _error_response(self, code: str) -> dict[str, Any]:
        name, schema, description = ERROR_RESPONSES[code]
        component = ResolvedComponent(
            name=name,
            type=ResolvedComponent.RESPONSE,
            object=name,
            schema={"description": description, "content": {JSON: {"schema": schema}}},
        )
        self.registry.register_on_missing(component)
        return component.ref
