"""API errors that say what and where, whichever layer noticed the problem."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import ValidationError
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
    """
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
