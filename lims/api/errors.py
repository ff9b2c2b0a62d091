"""API errors that say what and where, whichever layer noticed the problem."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from lims.services import VersionConflict


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus model validation (400, by field), constraint races (409) and edits
    of a version that is no longer current (412, with both versions and the current ETag).

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
