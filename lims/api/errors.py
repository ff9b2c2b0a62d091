"""API errors that say what and where, whichever layer noticed the problem."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from lims.services import VersionConflict
from lims.uploads import UploadRefused

#: The answers of an endpoint that takes a file, for its schema (``extend_schema(responses=)``).
UPLOAD_RESPONSES = {
    400: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="Invalid fields, an empty file, or an archive with unsafe structure "
        "(member paths, symlinks, nested archives, DTDs): {field: [message]}",
    ),
    413: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="The file or the request is over the upload limit (LIMS_UPLOAD_MAX_MB), or "
        "an XLSX expands beyond the archive limits: {field: [message]} or {detail}",
    ),
    415: OpenApiResponse(
        OpenApiTypes.OBJECT,
        description="The content is not an accepted kind (EC-Lab .mpr, text export, XLSX), is "
        "also something else (a polyglot), or is not a format the measurement's analysis "
        "reads: {field: [message]}",
    ),
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus model validation (400, by field), constraint races (409), edits
    of a version that is no longer current (412, with both versions and the current ETag) and
    uploads the upload gate refused (400, 413 or 415, by field).

    Services validate with ``full_clean`` and raise Django's ``ValidationError``; its
    ``message_dict`` already names the fields. An ``IntegrityError`` reaches here only when two
    requests raced past validation; the transaction has rolled back, so nothing is half-written.

    Errors are JSON whatever the view renders on success (an SVG plot, say), as the schema
    states (:mod:`lims.api.schema`); the browsable API keeps its page.
    """
    response = _handle(exc, context)
    request = context.get("request")
    if response is not None and request is not None:
        renderer = getattr(request, "accepted_renderer", None)
        if not isinstance(renderer, JSONRenderer | BrowsableAPIRenderer):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
    return response


def _handle(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, UploadRefused):
        return Response({exc.field: [exc.message]}, status=exc.status)
    if isinstance(exc, VersionConflict):
        return Response(
            {
                "detail": str(exc),
                "expected_version": exc.expected,
                "current_version": exc.current,
            },
            status=status.HTTP_412_PRECONDITION_FAILED,
            headers={"ETag": f'"{exc.current}"'},
        )
    if isinstance(exc, DjangoValidationError):
        detail: Any = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        exc = ValidationError(detail)
    elif isinstance(exc, IntegrityError):
        return Response(
            {"non_field_errors": [f"Conflicting change, nothing was saved: {exc}".strip()]},
            status=status.HTTP_409_CONFLICT,
        )
    return drf_exception_handler(exc, context)


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: a URL under ``/api/`` that names no endpoint (``/api/flags/0.5/``)
    answers JSON like every other API error; pages keep the HTML page."""
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)
