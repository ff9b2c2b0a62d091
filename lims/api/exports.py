"""``?format=csv|xlsx`` on every API list: the filtered rows as a streamed file."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from lims.exports import EXPORT_FORMATS, export_response
from lims.tables import default_columns, export_rows, table_for

FORMAT_PARAMETER = OpenApiParameter(
    "format",
    OpenApiTypes.STR,
    enum=list(EXPORT_FORMATS),
    description=(
        "Download every row that matches the filters (not one page) as a CSV or XLSX file. "
        "Text that a spreadsheet would run as a formula is escaped; numbers stay numbers."
    ),
)


class ExportListMixin:
    """Lists answer ``?format=csv`` or ``?format=xlsx`` with a file of all filtered rows.

    The columns are those of the model's desk table (``<app>/tables.py``), or one per stored
    field where the model has none. Errors (a bad filter) still answer in JSON.
    """

    def _export_format(self, request: Request) -> str:
        fmt: str = request.query_params.get("format", "")
        return fmt if getattr(self, "action", None) == "list" and fmt in EXPORT_FORMATS else ""

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # DRF reads ?format= as a renderer name and would answer 404 for csv and xlsx.
        if self._export_format(request):
            return JSONRenderer(), JSONRenderer.media_type
        return super().perform_content_negotiation(request, force)  # type: ignore[misc]

    @extend_schema(parameters=[FORMAT_PARAMETER])
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        fmt = self._export_format(request)
        if not fmt:
            return super().list(request, *args, **kwargs)  # type: ignore[misc]
        view: Any = self
        model = view.get_queryset().model
        table = table_for(model)
        base = table.queryset() if table else view.get_queryset()
        rows = view.filter_queryset(base)
        columns = table.columns if table else default_columns(model)
        name = table.export_name() if table else str(model._meta.model_name)
        response: HttpResponseBase = export_response(
            fmt=fmt,
            filename=name,
            header=[c.header for c in columns],
            rows=export_rows(rows, columns),
        )
        return response
